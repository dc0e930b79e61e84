import type { Expectation } from './cases.ts';

/**
 * The fuzz's verdicts: whether an answer is what a correct system gives, whether a text holds a
 * secret, and the tally of a run (by category and status, latencies, the first offenders).
 */
export interface Answer {
  /** HTTP status; undefined when no answer came (timeout, reset). */
  status: number | undefined;
  /** PutEvents: how many entries were accepted (0 when the request was refused). */
  acceptedEntries?: number | undefined;
  /** Why there was no answer. */
  error?: string | undefined;
  durationMs: number;
}

/** Why an answer is wrong, or undefined when it is right. */
export function judge(expect: Expectation, answer: Answer): string | undefined {
  const { status } = answer;
  if (
    status === undefined &&
    expect === 'refused-or-reset' &&
    /^(ECONNRESET|EPIPE)$/.test(answer.error ?? '')
  )
    return undefined;
  if (status === undefined) return `no answer (${answer.error ?? 'unknown error'})`;
  if (status >= 500) return `answered ${status}`;
  const is4xx = status >= 400 && status < 500;
  switch (expect) {
    case 'refused':
    case 'refused-or-reset':
      return is4xx ? undefined : `answered ${status}, expected a 4xx`;
    case 'bad-request':
      return status === 400 ? undefined : `answered ${status}, expected 400`;
    case 'forbidden':
      return status === 403 ? undefined : `answered ${status}, expected 403`;
    case 'spam-or-refused':
      return is4xx || status === 202 || status === 303
        ? undefined
        : `answered ${status}, expected 202, 303 or a 4xx`;
    case 'no-5xx':
      return undefined;
    case 'entries-refused':
      if (is4xx) return undefined;
      if ((answer.acceptedEntries ?? 0) > 0)
        return `${answer.acceptedEntries} entries accepted (HTTP ${status})`;
      return undefined;
  }
}

/** Finds any of the run's secrets in a text (answers, headers, log lines). */
export class SecretScanner {
  readonly #needles: readonly string[];
  constructor(needles: readonly string[]) {
    // A short needle would match by chance; the fuzz's secrets are long and random.
    if (needles.some((n) => n.length < 12)) throw new Error('secret needles must be at least 12 characters');
    this.#needles = needles;
  }
  /** How many distinct secrets the text contains. */
  count(text: string): number {
    return this.#needles.filter((needle) => text.includes(needle)).length;
  }
}

export interface Offence {
  category: string;
  description: string;
  problem: string;
}

/** Everything a run counts, fed one request (or one log line) at a time. */
export class Tally {
  readonly byCategory = new Map<
    string,
    { requests: number; statuses: Map<string, number>; violations: number }
  >();
  readonly offences: Offence[] = [];
  readonly durations: number[] = [];
  slowest: { durationMs: number; category: string; description: string } | undefined;
  fiveHundreds = 0;
  wrongAnswers = 0;
  secretsInAnswers = 0;
  secretsInLogs = 0;
  logLines = 0;
  #logOffences = 0;

  record(category: string, description: string, answer: Answer, problem: string | undefined): void {
    const entry = this.byCategory.get(category) ?? { requests: 0, statuses: new Map(), violations: 0 };
    this.byCategory.set(category, entry);
    entry.requests += 1;
    const status = answer.status === undefined ? (answer.error ?? 'none') : String(answer.status);
    entry.statuses.set(status, (entry.statuses.get(status) ?? 0) + 1);
    this.durations.push(answer.durationMs);
    if (!this.slowest || answer.durationMs > this.slowest.durationMs)
      this.slowest = { durationMs: answer.durationMs, category, description };
    if (answer.status !== undefined && answer.status >= 500) this.fiveHundreds += 1;
    else if (problem) this.wrongAnswers += 1;
    if (problem) this.#offend(entry, { category, description, problem });
  }

  secretInAnswer(category: string, description: string, count: number): void {
    this.secretsInAnswers += count;
    const entry = this.byCategory.get(category);
    this.#offend(entry, { category, description, problem: `${count} secret(s) in the answer` });
  }

  /** One line the functions or the runtime wrote; `source` says whose. */
  logLine(line: string, source: string, scanner: SecretScanner): void {
    this.logLines += 1;
    const found = scanner.count(line);
    if (found === 0) return;
    this.secretsInLogs += found;
    // Name the line's origin, never the line itself (it holds the secret).
    if (this.#logOffences++ < 5)
      this.offences.push({
        category: 'log',
        description: source,
        problem: `${found} secret(s) in a log line`,
      });
  }

  #offend(entry: { violations: number } | undefined, offence: Offence): void {
    if (entry) entry.violations += 1;
    this.offences.push(offence);
  }

  get requests(): number {
    return this.durations.length;
  }

  percentile(p: number): number {
    if (this.durations.length === 0) return 0;
    const sorted = [...this.durations].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  }
}
