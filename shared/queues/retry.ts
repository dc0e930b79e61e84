import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { SalescalingError } from '#shared/salescaling/errors.ts';

/**
 * Riding out a Salescaling outage on an SQS queue. A record that fails for a reason that may pass
 * (Salescaling 5xx, 429, a timeout, a network error) is hidden for a delay that grows with each
 * receive (exponential, equal jitter, capped) through `ChangeMessageVisibility`, instead of coming
 * back after the queue's fixed visibility timeout. It is given up (dead-lettered with its reason)
 * only once it has been failing for longer than the window, measured from its first receive, or on
 * the queue's last receive, whichever comes first.
 */
export interface RetrySchedule {
  /** How long a failing record is retried, from its first receive (the stage's outage window). */
  windowSeconds: number;
  /** The delay after the first failed receive; doubled after each one. */
  baseSeconds: number;
  /** The longest delay (SQS allows at most 12 hours). */
  capSeconds: number;
}

/** SQS's ceiling for a message's visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** The stage default: a 6-hour outage, 1 minute first, then doubling to 30 minutes. */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  windowSeconds: 6 * 3600,
  baseSeconds: 60,
  capSeconds: 1800,
};

/** The un-jittered delay after the `receiveCount`-th failed receive (1-based). */
export function ceilingDelaySeconds(receiveCount: number, schedule: RetrySchedule): number {
  const exponent = Math.min(Math.max(receiveCount - 1, 0), 30);
  return Math.min(schedule.capSeconds, MAX_VISIBILITY_SECONDS, schedule.baseSeconds * 2 ** exponent);
}

/**
 * The delay after the `receiveCount`-th failed receive: equal jitter, between half the ceiling and
 * the ceiling (spread, so records that failed together do not come back together, and never shorter
 * than half, which is what the receive count below is derived from). Whole seconds, at least 1.
 */
export function backoffSeconds(
  receiveCount: number,
  schedule: RetrySchedule,
  random: () => number = Math.random,
): number {
  const ceiling = ceilingDelaySeconds(receiveCount, schedule);
  return Math.max(1, Math.ceil(ceiling / 2 + random() * (ceiling / 2)));
}

/**
 * The `maxReceiveCount` a queue needs so that its redrive policy never takes a record before the
 * handler's window has passed: the smallest count R whose first R − 1 gaps, each at its shortest,
 * add up to the window, plus 2 for margin (a receive lost to a function timeout, clock skew). A gap
 * is at its shortest half the backoff ceiling (the jitter's floor), or the queue's visibility
 * timeout when that is shorter (a failure that is not Salescaling's, or a ChangeMessageVisibility
 * that failed, waits the visibility timeout instead).
 */
export function receivesToRideOut(schedule: RetrySchedule, visibilityTimeoutSeconds: number): number {
  let covered = 0;
  let receives = 1;
  while (covered < schedule.windowSeconds && receives < 10_000) {
    covered += Math.min(ceilingDelaySeconds(receives, schedule) / 2, visibilityTimeoutSeconds);
    receives += 1;
  }
  return receives + 2;
}

/** Whether a failure may pass if the record is tried again later: Salescaling 5xx, 429, timeouts, network. */
export function isTransient(error: unknown): boolean {
  return error instanceof SalescalingError && error.retryable;
}

/** What to do with a record whose processing threw. */
export type FailureDecision =
  /** Dead-letter it with this reason: its window has passed, or this was the queue's last receive. */
  | { giveUp: true; reason: string }
  /** Let the queue deliver it again: after `delaySeconds` when the visibility change took, else after the visibility timeout. */
  | { giveUp: false; delaySeconds: number | undefined };

export interface QueueRetryOptions {
  sqs: SQSClient;
  /** The URL of the queue the records come from (the function's own source queue). */
  queueUrl: string;
  schedule: RetrySchedule;
  /** The queue's maxReceiveCount (its redrive policy). */
  maxReceiveCount: number;
  now?: () => number;
  random?: () => number;
  /** Told when a visibility change fails (the record then waits the queue's visibility timeout). */
  warn?: (message: string, details: Record<string, unknown>) => void;
  /** Told of each record delayed, so the log shows the outage being ridden out. */
  info?: (message: string, details: Record<string, unknown>) => void;
}

/**
 * The failure path of a queue handler: decides give-up or retry for a record that threw, and for a
 * transient failure sets its next visibility. Never throws: a failed visibility change only means
 * the record comes back after the queue's visibility timeout, as it would without this.
 */
export function queueRetries(options: QueueRetryOptions) {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  return async (record: SQSRecord, error: unknown): Promise<FailureDecision> => {
    const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
    const firstReceived =
      Number(record.attributes.ApproximateFirstReceiveTimestamp) ||
      Number(record.attributes.SentTimestamp) ||
      now();
    const failingSeconds = Math.max(0, (now() - firstReceived) / 1000);
    const message = error instanceof Error ? error.message : String(error);
    if (failingSeconds >= options.schedule.windowSeconds) {
      return {
        giveUp: true,
        reason: `Still failing after ${Math.round(failingSeconds)} s, past the ${options.schedule.windowSeconds} s outage window (${receives} deliveries): ${message}`,
      };
    }
    if (receives >= options.maxReceiveCount) {
      return { giveUp: true, reason: `Gave up after ${receives} deliveries: ${message}` };
    }
    if (!isTransient(error)) return { giveUp: false, delaySeconds: undefined };
    const remaining = Math.ceil(options.schedule.windowSeconds - failingSeconds);
    let delaySeconds = backoffSeconds(receives, options.schedule, random);
    // Salescaling's own Retry-After, when it asked for longer.
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof retryAfterMs === 'number')
      delaySeconds = Math.max(delaySeconds, Math.ceil(retryAfterMs / 1000));
    // Not past the window's end: the last try comes as the window closes, and gives up if it fails.
    delaySeconds = Math.min(delaySeconds, Math.max(1, remaining), MAX_VISIBILITY_SECONDS);
    try {
      await options.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: options.queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: delaySeconds,
        }),
      );
      options.info?.('Salescaling unavailable: record delayed', {
        messageId: record.messageId,
        deliveries: receives,
        delaySeconds,
        failingSeconds: Math.round(failingSeconds),
        windowSeconds: options.schedule.windowSeconds,
      });
      return { giveUp: false, delaySeconds };
    } catch (cause) {
      options.warn?.('Could not delay the record; it comes back after the visibility timeout', {
        messageId: record.messageId,
        error: cause instanceof Error ? cause.name : 'UnknownError',
      });
      return { giveUp: false, delaySeconds: undefined };
    }
  };
}
