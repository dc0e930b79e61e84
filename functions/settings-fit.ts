import {
  DEFAULT_RETRY_SCHEDULE,
  MAX_VISIBILITY_SECONDS,
  type RetrySchedule,
  receivesToRideOut,
} from '#shared/queues/retry.ts';
import { HEADROOM } from '#shared/salescaling/budget.ts';
import type { FunctionDeclaration } from './declaration.ts';
import { requestsPerSecond, salescalingConcurrency } from './environment.ts';
import {
  maxReceiveCountOf,
  queueVisibilityTimeoutSeconds,
  ridesOutOutages,
  VISIBILITY_TIMEOUT_FACTOR,
} from './queue-retries.ts';

export { queueVisibilityTimeoutSeconds };

/**
 * Whether each queue's settings fit its function (checked at synth and when the local runtime
 * starts, since both read the catalog):
 *
 * - a whole batch must fit the timeout at the function's share of the Salescaling budget:
 *   `batchSize × callsPerRecord ÷ share ≤ timeoutSeconds`, share being the least an invocation is
 *   sure of (`worstCaseShare`): every invocation that may call Salescaling busy at once. Otherwise
 *   batches time out and are redelivered whole, again and again;
 * - the queue's visibility timeout must be at least 6× the function timeout (AWS's advice for
 *   Lambda event sources), or a message still being worked on is delivered a second time.
 *
 * - a function that rides out Salescaling outages (queue-retries.ts) must be able to: its queue keeps
 *   messages longer than the outage window, its maxReceiveCount covers the window at the backoff's
 *   shortest gaps, and the backoff's cap fits SQS's 12-hour visibility ceiling.
 *
 * `callsPerRecord` counts first attempts. Transport retries (up to 3 per call, during an outage or
 * a 429) are not in the figure: a batch slowed by them may time out, and is then redelivered, never
 * lost, which the 6× visibility timeout leaves room for.
 */

/** How long the stack's function queues keep a message (SQS `MessageRetentionPeriod`): 4 days. */
export const QUEUE_RETENTION_SECONDS = 4 * 24 * 3600;

export interface FitSettings {
  /** The stage's `salescaling.maxRequestsPerSecond`. */
  maxRequestsPerSecond: number;
  /** The visibility timeout of the function's queues; default: `queueVisibilityTimeoutSeconds`. */
  visibilityTimeoutSeconds?: (declaration: FunctionDeclaration) => number;
  /** The stage's outage retry schedule; default: shared/queues/retry.ts DEFAULT_RETRY_SCHEDULE. */
  retrySchedule?: RetrySchedule;
  /** The function queues' message retention; default QUEUE_RETENTION_SECONDS. */
  retentionSeconds?: number;
}

/**
 * The requests per second one invocation is sure of when every invocation that may call Salescaling
 * (`salescalingConcurrency`) is busy at once: on the shared budget (shared/salescaling/budget.ts) an
 * even share of the slots, which are spaced for HEADROOM (95%) of the budget; on its fallback, the
 * static share, budget ÷ invocations (`SALESCALING_MAX_RPS`). The smaller of the two, so the shared
 * one. One invocation alone gets the whole budget; this figure is the busy case a batch must survive.
 */
export function worstCaseShare(maxRequestsPerSecond: number, invocations: number): number {
  return Math.min(
    requestsPerSecond(maxRequestsPerSecond * HEADROOM, invocations),
    requestsPerSecond(maxRequestsPerSecond, invocations),
  );
}

/** Every misfit, each naming the function and its queue and showing the arithmetic. */
export function settingsFitProblems(
  declarations: readonly FunctionDeclaration[],
  settings: FitSettings,
): string[] {
  const share = worstCaseShare(settings.maxRequestsPerSecond, salescalingConcurrency(declarations));
  const visibility =
    settings.visibilityTimeoutSeconds ??
    ((d: FunctionDeclaration) => queueVisibilityTimeoutSeconds(d.timeoutSeconds));
  const problems: string[] = [];
  for (const declaration of declarations) {
    const { name, timeoutSeconds } = declaration;
    for (const trigger of declaration.triggers) {
      if (trigger.kind !== 'event') continue;
      const where = `${name} (queue ${trigger.name})`;
      const visibilitySeconds = visibility(declaration);
      if (visibilitySeconds < VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds) {
        problems.push(
          `${where}: visibility timeout ${visibilitySeconds} s is below ${VISIBILITY_TIMEOUT_FACTOR} × its ${timeoutSeconds} s timeout = ${VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds} s`,
        );
      }
      if (ridesOutOutages(declaration)) {
        problems.push(...rideOutProblems(where, declaration, trigger, settings, visibilitySeconds));
      }
      if (!declaration.access.includes('salescalingApiKey')) continue;
      const calls = trigger.callsPerRecord;
      if (calls === undefined) {
        problems.push(`${where}: calls Salescaling but declares no callsPerRecord`);
        continue;
      }
      if (calls === 'self-paced') continue;
      const seconds = (trigger.batchSize * calls) / share;
      if (seconds > timeoutSeconds) {
        problems.push(
          `${where}: batchSize ${trigger.batchSize} × ${calls} calls per record ÷ ${share} requests/s = ${seconds.toFixed(1)} s, over its ${timeoutSeconds} s timeout; lower batchSize or raise timeoutSeconds (functions/catalog.ts)`,
        );
      }
    }
  }
  return problems;
}

function rideOutProblems(
  where: string,
  declaration: FunctionDeclaration,
  trigger: Extract<FunctionDeclaration['triggers'][number], { kind: 'event' }>,
  settings: FitSettings,
  visibilitySeconds: number,
): string[] {
  const schedule = settings.retrySchedule ?? DEFAULT_RETRY_SCHEDULE;
  const retention = settings.retentionSeconds ?? QUEUE_RETENTION_SECONDS;
  const problems: string[] = [];
  if (retention <= schedule.windowSeconds) {
    problems.push(
      `${where}: the queue keeps messages ${retention} s, not longer than the ${schedule.windowSeconds} s outage window (outage.windowMinutes): a message would expire while being retried`,
    );
  }
  const needed = receivesToRideOut(schedule, visibilitySeconds);
  const count = maxReceiveCountOf(declaration, trigger, schedule);
  if (count < needed) {
    problems.push(
      `${where}: maxReceiveCount ${count} is below the ${needed} receives the ${schedule.windowSeconds} s outage window needs at its backoff (outage.*): the redrive policy would dead-letter records, without a reason, before the window ends; remove maxReceiveCount (functions/catalog.ts) to derive it`,
    );
  }
  if (schedule.capSeconds > MAX_VISIBILITY_SECONDS || schedule.baseSeconds > schedule.capSeconds) {
    problems.push(
      `${where}: the backoff (outage.retryBaseSeconds ${schedule.baseSeconds} s, outage.retryCapSeconds ${schedule.capSeconds} s) must have base ≤ cap ≤ ${MAX_VISIBILITY_SECONDS} s (SQS's visibility ceiling)`,
    );
  }
  return problems;
}

/** Throws with every misfit: a catalog whose batches cannot finish in time is not deployed. */
export function assertSettingsFit(declarations: readonly FunctionDeclaration[], settings: FitSettings): void {
  const problems = settingsFitProblems(declarations, settings);
  if (problems.length > 0) {
    throw new Error(`Queue settings do not fit their functions:\n  ${problems.join('\n  ')}`);
  }
}
