import type { FunctionDeclaration } from './declaration.ts';
import { requestsPerSecond, salescalingConcurrency } from './environment.ts';

/**
 * Whether each queue's settings fit its function (checked at synth and when the local runtime
 * starts, since both read the catalog):
 *
 * - a whole batch must fit the timeout at the function's share of the Salescaling budget:
 *   `batchSize × callsPerRecord ÷ share ≤ timeoutSeconds`, share being what each invocation is given
 *   (`requestsPerSecond`, the stage's `salescaling.maxRequestsPerSecond` ÷ `salescalingConcurrency`).
 *   Otherwise batches time out and are redelivered whole, again and again;
 * - the queue's visibility timeout must be at least 6× the function timeout (AWS's advice for
 *   Lambda event sources), or a message still being worked on is delivered a second time.
 *
 * `callsPerRecord` counts first attempts. Transport retries (up to 3 per call, during an outage or
 * a 429) are not in the figure: a batch slowed by them may time out, and is then redelivered, never
 * lost, which the 6× visibility timeout leaves room for.
 */
const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The visibility timeout the stack gives a function's queues. */
export function queueVisibilityTimeoutSeconds(timeoutSeconds: number): number {
  return Math.max(30, timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR);
}

export interface FitSettings {
  /** The stage's `salescaling.maxRequestsPerSecond`. */
  maxRequestsPerSecond: number;
  /** The visibility timeout of the function's queues; default: `queueVisibilityTimeoutSeconds`. */
  visibilityTimeoutSeconds?: (declaration: FunctionDeclaration) => number;
}

/** Every misfit, each naming the function and its queue and showing the arithmetic. */
export function settingsFitProblems(
  declarations: readonly FunctionDeclaration[],
  settings: FitSettings,
): string[] {
  const share = requestsPerSecond(settings.maxRequestsPerSecond, salescalingConcurrency(declarations));
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

/** Throws with every misfit: a catalog whose batches cannot finish in time is not deployed. */
export function assertSettingsFit(declarations: readonly FunctionDeclaration[], settings: FitSettings): void {
  const problems = settingsFitProblems(declarations, settings);
  if (problems.length > 0) {
    throw new Error(`Queue settings do not fit their functions:\n  ${problems.join('\n  ')}`);
  }
}
