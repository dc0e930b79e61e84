import { type RetrySchedule, receivesToRideOut } from '#shared/queues/retry.ts';
import type { EventTrigger, FunctionDeclaration } from './declaration.ts';

/** AWS's advice for Lambda event sources: a queue's visibility timeout at least 6× the function's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The visibility timeout the stack gives a function's queues. */
export function queueVisibilityTimeoutSeconds(timeoutSeconds: number): number {
  return Math.max(30, timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR);
}

/**
 * Whether a function rides out a Salescaling outage on its queue with backoff
 * (shared/queues/retry.ts): the ones that dead-letter for themselves (access `deadLetterQueue`).
 */
export function ridesOutOutages(declaration: FunctionDeclaration): boolean {
  return declaration.access.includes('deadLetterQueue');
}

/**
 * A queue's `maxReceiveCount`, read by the stack (the redrive policy), the local runtime and the
 * function's environment alike, so none can disagree. For a function that rides out outages it is
 * derived from the stage's retry schedule (`receivesToRideOut`: enough receives, at the shortest
 * gaps the backoff and the visibility timeout allow, to cover the whole window, plus 2), unless the
 * trigger declares one (settings-fit.ts refuses a declared count below the derived one). Any other
 * queue uses its declared count, or 5.
 */
export function maxReceiveCountOf(
  declaration: FunctionDeclaration,
  trigger: EventTrigger,
  schedule: RetrySchedule,
): number {
  if (!ridesOutOutages(declaration)) return trigger.maxReceiveCount ?? 5;
  return (
    trigger.maxReceiveCount ??
    receivesToRideOut(schedule, queueVisibilityTimeoutSeconds(declaration.timeoutSeconds))
  );
}
