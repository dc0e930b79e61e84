import { Cron } from 'croner';
import type { ScheduleTrigger } from '#functions/declaration.ts';
import { scheduleExpression } from '#functions/declaration.ts';
import type { FunctionHost, InvocationResult } from './function-host.ts';
import type { DeadLetters } from './records.ts';

/**
 * EventBridge Scheduler, locally: cron schedules (AWS syntax, in their time zone) and rate
 * schedules invoke their function with the declared input, retried like Lambda's asynchronous
 * invocations (`retryAttempts`), then dead-lettered. `fire(name)` runs one now.
 */
export class LocalSchedule {
  readonly trigger: ScheduleTrigger;
  readonly host: FunctionHost;
  #deadLetters: DeadLetters;
  #retryDelayMs: number;
  #cron: Cron | undefined;
  #interval: NodeJS.Timeout | undefined;
  #onRun: (attempt: number, result: InvocationResult, startedAt: number) => void;

  constructor(options: {
    trigger: ScheduleTrigger;
    host: FunctionHost;
    deadLetters: DeadLetters;
    retryDelayMs: number;
    onRun: (attempt: number, result: InvocationResult, startedAt: number) => void;
  }) {
    this.trigger = options.trigger;
    this.host = options.host;
    this.#deadLetters = options.deadLetters;
    this.#retryDelayMs = options.retryDelayMs;
    this.#onRun = options.onRun;
  }

  get expression(): string {
    return scheduleExpression(this.trigger);
  }

  /** Starts the timer (only for enabled schedules). */
  start(): void {
    if (!this.trigger.enabled) return;
    const { expression } = this.trigger;
    if ('cron' in expression) {
      this.#cron = new Cron(toCronerPattern(expression.cron), { timezone: this.trigger.timeZone }, () => {
        void this.fire();
      });
    } else {
      this.#interval = setInterval(() => void this.fire(), rateToMs(expression.rate));
    }
  }

  nextRun(): Date | undefined {
    if (!this.trigger.enabled) return undefined;
    const { expression } = this.trigger;
    if ('cron' in expression) {
      return (
        (
          this.#cron ??
          new Cron(toCronerPattern(expression.cron), { timezone: this.trigger.timeZone, paused: true })
        ).nextRun() ?? undefined
      );
    }
    return new Date(Date.now() + rateToMs(expression.rate));
  }

  stop(): void {
    this.#cron?.stop();
    if (this.#interval) clearInterval(this.#interval);
  }

  /**
   * Runs the schedule now, with its retries; resolves with the last attempt's result. An on-demand
   * run stands in for an operator's `aws lambda invoke`: a `RequestError` (the input is wrong) is
   * answered to the operator at once, neither retried nor dead-lettered, since no retry can fix it.
   */
  async fire(
    override: Record<string, unknown> = {},
    options: { onDemand?: boolean } = {},
  ): Promise<InvocationResult> {
    let result: InvocationResult = { ok: false, error: { name: 'NotRun', message: 'not run' } };
    const attempts = this.trigger.retryAttempts + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const startedAt = Date.now();
      result = await this.host.invoke({ ...this.trigger.input, ...override }, { exclusive: true });
      this.#onRun(attempt, result, startedAt);
      if (result.ok) return result;
      if (options.onDemand && isCallersMistake(result)) return result;
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, this.#retryDelayMs));
    }
    if (!result.ok) {
      this.#deadLetters.add({
        source: `schedule:${this.trigger.name}`,
        functionName: this.host.declaration.name,
        reason: `${result.error.name}: ${result.error.message}`,
        attempts,
        payload: this.trigger.input,
      });
    }
    return result;
  }
}

/** The function refused its input (`RequestError`, shared/errors.ts): the caller's mistake. */
export const isCallersMistake = (result: InvocationResult): boolean =>
  !result.ok && result.error.name === 'RequestError';

/**
 * AWS cron `min hour day-of-month month day-of-week year` to croner's
 * `sec min hour day-of-month month day-of-week`: day-of-week numbers shift (AWS 1 = Sunday,
 * croner 0 = Sunday); the year field must be `*` locally.
 */
export function toCronerPattern(aws: string): string {
  const fields = aws.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`cron(${aws}) must have six fields`);
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (year !== '*') throw new Error(`cron(${aws}): the local scheduler supports only "*" in the year field`);
  const dow = dayOfWeek.replace(/\d+/g, (n, offset: number, whole: string) =>
    whole[offset - 1] === '#' ? n : String(Number(n) - 1),
  );
  return `0 ${minutes} ${hours} ${dayOfMonth} ${month} ${dow}`;
}

export function rateToMs(rate: string): number {
  const [count, unit] = rate.split(' ') as [string, string];
  const unitMs = unit.startsWith('minute') ? 60_000 : unit.startsWith('hour') ? 3_600_000 : 86_400_000;
  return Number(count) * unitMs;
}
