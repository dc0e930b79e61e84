import { randomBytes } from 'node:crypto';
import { catalog } from '#functions/catalog.ts';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import { fingerprint, startEmulator } from '#local/emulator/server.ts';
import { LOCAL_BUS_NAME } from '#local/runtime/runtime.ts';
import { type FuzzCase, generateCases } from '#local/tools/fuzz/cases.ts';
import { judge, SecretScanner, Tally } from '#local/tools/fuzz/check.ts';
import { generateSecrets, secretNeedles } from '#local/tools/fuzz/payloads.ts';
import { awsSender, busSender, httpSender, type Sent } from '#local/tools/fuzz/send.ts';
import { startQuietRuntime } from '#local/tools/system.ts';

/**
 * `npm run fuzz [-- --requests N --seconds S --seed N]`: N generated bad or hostile requests
 * (default 10,000) against the whole local system on loopback — every route and provider, forged
 * and malformed PutEvents, the runtime's own endpoints with a foreign Host, the emulator's paging —
 * each invalid or refused by construction (see fuzz/cases.ts). It asserts 0 answers of 5xx (and
 * each answer the one its category calls for), 0 events on the bus, 0 Salescaling calls and 0 of
 * the run's secrets in any answer or log line; prints a summary and one line; exits non-zero on any
 * violation. Bounded: N requests, S seconds of sending, 8 in flight.
 */
export interface FuzzOptions {
  requests: number;
  seconds: number;
  seed: number;
  concurrency?: number;
  log?: (line: string) => void;
}

export interface FuzzResult {
  ok: boolean;
  /** The summary, then the final line. */
  report: string[];
}

const QUIET_LIMIT_MS = 120_000;

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const concurrency = options.concurrency ?? 8;
  const secrets = generateSecrets();
  const scanner = new SecretScanner(secretNeedles(secrets));
  const tally = new Tally();
  const problems: string[] = [];
  const cases = generateCases(options.requests, options.seed);

  // The fuzz's own paging probes use a key of their own, so the functions' calls can be told apart.
  const emulatorProbeKey = `fuzz-probe-${randomBytes(8).toString('hex')}`;
  const emulator = await startEmulator({
    apiKeys: [secrets.salescalingApiKey, emulatorProbeKey],
    seed: { opportunities: 25, seed: options.seed },
  });
  // Route throttling is a deployment setting: lifted, so every request reaches its function.
  const declarations: FunctionDeclaration[] = catalog.map((d) => ({
    ...d,
    triggers: d.triggers.map((t) => (t.kind === 'http' ? { ...t, throttle: undefined } : t)),
  }));
  const runtime = await startQuietRuntime({
    declarations,
    secrets: {
      salescalingApiKey: secrets.salescalingApiKey,
      webhookSigningSecrets: Object.fromEntries(Object.entries(secrets.signing).map(([p, s]) => [p, [s]])),
    },
    log: (line) => tally.logLine(line, 'runtime', scanner),
    functionOutput: (line, stream) => tally.logLine(line, `${functionOf(line)} ${stream}`, scanner),
    platform: { logLevel: 'INFO', salescalingBaseUrl: emulator.apiBaseUrl, salescalingTimeoutMs: 2_000 },
  }).catch(async (error: unknown) => {
    await emulator.close();
    throw error;
  });

  const http = httpSender(concurrency);
  const bus = busSender(runtime.url, LOCAL_BUS_NAME);
  const sweepEnvironment = runtime.hosts.get('stale-deals')?.environment ?? {};
  const dynamoDbUrl = sweepEnvironment.AWS_ENDPOINT_URL_DYNAMODB;
  const sweepRunsTable = sweepEnvironment.SWEEP_RUNS_TABLE_NAME;
  const syncEnvironment = runtime.hosts.get('lead-sync')?.environment ?? {};
  const budgetTable = syncEnvironment.SALESCALING_BUDGET_TABLE_NAME;
  const idempotencyTable = syncEnvironment.IDEMPOTENCY_TABLE_NAME;
  if (!dynamoDbUrl || !sweepRunsTable || !budgetTable || !idempotencyTable)
    throw new Error('the local runtime runs no DynamoDB for stale-deals and lead sync');
  const tables = { sweepRunsTable, budgetTable, idempotencyTable };
  const aws = awsSender(runtime.url, dynamoDbUrl);
  // Cold starts are not what the latencies are about: start the HTTP functions first (neither
  // publishes anything: a health check and an empty lead, refused).
  await http.send(runtime.url, { method: 'GET', path: '/health', headers: {} });
  await http.send(runtime.url, {
    method: 'POST',
    path: '/leads',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from('{}'),
  });
  // "0 events": nothing at all appears on the bus after the start, whoever put it. The bus keeps
  // its latest 2,000, so it is read as the run goes.
  const published = new Map<string, string>();
  const baseline = new Set(runtime.bus.events.list().map((e) => e.id));
  const readBus = () => {
    for (const e of runtime.bus.events.list())
      if (!baseline.has(e.id)) published.set(e.id, `${e.source} / ${e['detail-type']}`);
  };
  const busWatch = setInterval(readBus, 100);
  const isFunctionCall = (keyId: string | null) => keyId !== fingerprint(emulatorProbeKey);
  const callsBefore = emulator.log.list().filter((r) => isFunctionCall(r.keyId)).length;

  try {
    const deadline = started + options.seconds * 1000;
    let next = 0;
    const sendOne = async (item: FuzzCase) => {
      const wire = item.build({
        now: new Date(),
        runtimeUrl: runtime.url,
        secrets,
        emulatorProbeKey,
        dynamoDbUrl,
        tables,
      });
      const sent: Sent =
        wire.target === 'bus'
          ? await bus.send(wire.entries)
          : wire.target === 'aws'
            ? await aws.send(wire.call)
            : await http.send(wire.target === 'emulator' ? emulator.url : runtime.url, wire);
      tally.record(item.category, item.description, sent.answer, judge(item.expect, sent.answer));
      const leaked = scanner.count(sent.text);
      if (leaked > 0) tally.secretInAnswer(item.category, item.description, leaked);
    };
    const worker = async () => {
      while (next < cases.length && Date.now() < deadline) {
        const item = cases[next++];
        if (item) await sendOne(item);
      }
    };
    let lastReport = Date.now();
    const progress = setInterval(() => {
      if (Date.now() - lastReport < 10_000) return;
      lastReport = Date.now();
      log(
        `fuzz: ${tally.requests} of ${cases.length} sent (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
    }, 1_000);
    await Promise.all(Array.from({ length: concurrency }, worker));
    clearInterval(progress);
    if (tally.requests < cases.length)
      problems.push(
        `the time limit (${options.seconds} s) ended the run after ${tally.requests} of ${cases.length} requests`,
      );

    // Quiet: every queue drained (a message stays counted until its batch is done) and neither
    // invocations nor output lines moving, read from the runtime itself.
    const quietDeadline = Date.now() + QUIET_LIMIT_MS;
    let stable = 0;
    let last = '';
    while (stable < 4) {
      if (Date.now() > quietDeadline) {
        problems.push(`the system was not quiet ${QUIET_LIMIT_MS / 1000} s after the last request`);
        break;
      }
      const depth = runtime.queues.reduce((sum, q) => sum + q.depth, 0);
      const state = `${depth} ${runtime.invocations.list().at(-1)?.id} ${tally.logLines}`;
      stable = depth === 0 && state === last ? stable + 1 : 0;
      last = state;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    readBus();
  } finally {
    clearInterval(busWatch);
    http.close();
    bus.close();
    aws.close();
    await runtime.close();
    await emulator.close();
  }

  const calls = emulator.log.list().filter((r) => isFunctionCall(r.keyId));
  const salescalingCalls = calls.length - callsBefore;
  const secretsFound = tally.secretsInAnswers + tally.secretsInLogs;
  const violations =
    tally.fiveHundreds +
    tally.wrongAnswers +
    published.size +
    salescalingCalls +
    secretsFound +
    problems.length;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const slowest = tally.slowest
    ? `${Math.round(tally.slowest.durationMs)} ms (${tally.slowest.category}: ${tally.slowest.description})`
    : 'none';

  const report: string[] = [];
  report.push(
    `fuzz: seed ${options.seed}, ${tally.requests} requests, ${concurrency} in flight, ${tally.logLines} log lines searched for ${secretNeedles(secrets).length} secret forms`,
  );
  const width = Math.max(...[...tally.byCategory.keys()].map((k) => k.length));
  for (const [name, entry] of [...tally.byCategory.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const statuses = [...entry.statuses.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    report.push(
      `  ${name.padEnd(width)} ${String(entry.requests).padStart(5)}  ${statuses}${entry.violations > 0 ? `  — ${entry.violations} violations` : ''}`,
    );
  }
  report.push(
    `  latency p50 ${Math.round(tally.percentile(50))} ms, p99 ${Math.round(tally.percentile(99))} ms; slowest ${slowest}`,
  );
  if (published.size > 0) {
    const kinds = count([...published.values()]);
    report.push(`  events on the bus: ${published.size} (${kinds.slice(0, 6).join('; ')})`);
  }
  if (salescalingCalls > 0)
    report.push(
      `  Salescaling calls: ${salescalingCalls} (${count(calls.map((c) => c.operation ?? c.path))
        .slice(0, 6)
        .join('; ')})`,
    );
  const deadLetters = runtime.deadLetters.list().length;
  if (deadLetters > 0) report.push(`  dead letters: ${deadLetters}`);
  for (const problem of problems) report.push(`  problem: ${problem}`);
  if (secretsFound > 0)
    report.push(`  secrets: ${tally.secretsInAnswers} in answers, ${tally.secretsInLogs} in log lines`);
  // The first offender of each category (then the next ones), so every kind of failure shows.
  const shown = [...Map.groupBy(tally.offences, (o) => o.category).values()]
    .flatMap((group) => group.map((offence, rank) => ({ offence, rank })))
    .sort((a, b) => a.rank - b.rank)
    .slice(0, 40);
  for (const { offence } of shown)
    report.push(
      `  offending: [${offence.category}] ${offence.description.slice(0, 100)}: ${offence.problem}`,
    );
  if (tally.offences.length > shown.length)
    report.push(`  (${tally.offences.length - shown.length} more offending requests)`);
  report.push(
    `fuzz: ${tally.requests} requests, ${tally.fiveHundreds} 5xx, ${published.size} events, ${salescalingCalls} Salescaling calls, ${secretsFound} secrets, ${tally.wrongAnswers} unexpected answers; slowest ${tally.slowest ? `${Math.round(tally.slowest.durationMs)} ms (${tally.slowest.category})` : 'none'}; ${seconds} s; ${violations === 0 ? 'OK' : 'FAILED'}`,
  );
  return { ok: violations === 0, report };
}

/** `3× a / b` lines, most frequent first. */
function count(values: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([v, n]) => `${n}× ${v}`);
}

/** The function a Powertools line came from, for naming it without quoting it. */
function functionOf(line: string): string {
  try {
    const parsed = JSON.parse(line) as { function_name?: unknown };
    return typeof parsed.function_name === 'string' ? parsed.function_name : 'function';
  } catch {
    return 'function';
  }
}

if (import.meta.main) {
  const USAGE = 'Usage: npm run fuzz [-- --requests N --seconds S --seed N]';
  const usage = (message: string): never => {
    console.error(`${message}\n${USAGE}`);
    process.exit(2);
  };
  const known = ['requests', 'seconds', 'seed'];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]?.replace(/^--/, '') ?? '';
    if (!args[i]?.startsWith('--') || !known.includes(name)) usage(`Unknown argument ${args[i]}`);
  }
  const arg = (name: string, fallback: number, min: number) => {
    const index = args.indexOf(`--${name}`);
    const value = index >= 0 ? Number(args[index + 1]) : fallback;
    if (!Number.isInteger(value) || value < min)
      usage(`--${name} must be a whole number${min > 0 ? ` ≥ ${min}` : ''}`);
    return value;
  };
  runFuzz({
    requests: arg('requests', 10_000, 1),
    // 10,000 requests take a minute or two on 2 cores once every parser is linear.
    seconds: arg('seconds', 900, 1),
    seed: arg('seed', 7, 0),
    log: (line) => console.info(line),
  }).then(
    (result) => {
      for (const line of result.report) console.info(line);
      process.exit(result.ok ? 0 : 1);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exit(1);
    },
  );
}
