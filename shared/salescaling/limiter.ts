import PQueue from 'p-queue';
import { positiveNumberFromEnv } from '#shared/config/positive-env.ts';

/**
 * Client-side limiter: caps requests per second (sliding window) and requests in flight. Every
 * HTTP attempt, retries included, passes through it; backoff waits happen outside it so a sleeping
 * retry does not hold a slot.
 */
export interface RequestLimiter {
  schedule<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export interface RequestLimiterOptions {
  /** Default 5: Salescaling publishes no rate limit, so we stay well below anything plausible. */
  requestsPerSecond?: number;
  /** Default 3. */
  concurrency?: number;
}

export const DEFAULT_REQUESTS_PER_SECOND = 5;
export const DEFAULT_CONCURRENCY = 3;

export function createRequestLimiter(options: RequestLimiterOptions = {}): RequestLimiter {
  const requestsPerSecond = options.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!(requestsPerSecond > 0) || !Number.isFinite(requestsPerSecond)) {
    throw new Error(`requestsPerSecond must be a positive number (got ${requestsPerSecond})`);
  }
  if (!(concurrency > 0) || !Number.isInteger(concurrency)) {
    throw new Error(`concurrency must be a positive integer (got ${concurrency})`);
  }
  // Whole rates: N per second. Fractional ones (a share of a budget): one per 1/rate seconds.
  const whole = Number.isInteger(requestsPerSecond);
  const queue = new PQueue({
    concurrency,
    intervalCap: whole ? requestsPerSecond : 1,
    interval: whole ? 1000 : Math.ceil(1000 / requestsPerSecond),
    strict: true,
  });
  return {
    schedule: (task, signal) => queue.add(() => task(), signal ? { signal } : {}),
  };
}

let processLimiter: RequestLimiter | undefined;

/**
 * The limiter shared by every client of this process (one Lambda container, one local runtime),
 * created on first use. Limits come from `SALESCALING_MAX_RPS` / `SALESCALING_MAX_CONCURRENCY`.
 */
export function sharedRequestLimiter(): RequestLimiter {
  processLimiter ??= createRequestLimiter({
    requestsPerSecond: positiveNumberFromEnv('SALESCALING_MAX_RPS', DEFAULT_REQUESTS_PER_SECOND),
    concurrency: positiveNumberFromEnv('SALESCALING_MAX_CONCURRENCY', DEFAULT_CONCURRENCY, { integer: true }),
  });
  return processLimiter;
}
