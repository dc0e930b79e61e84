import PQueue from 'p-queue';

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
  if (!(requestsPerSecond > 0) || !Number.isInteger(requestsPerSecond)) {
    throw new Error(`requestsPerSecond must be a positive integer (got ${requestsPerSecond})`);
  }
  if (!(concurrency > 0) || !Number.isInteger(concurrency)) {
    throw new Error(`concurrency must be a positive integer (got ${concurrency})`);
  }
  const queue = new PQueue({ concurrency, intervalCap: requestsPerSecond, interval: 1000, strict: true });
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
    requestsPerSecond: positiveIntFromEnv('SALESCALING_MAX_RPS', DEFAULT_REQUESTS_PER_SECOND),
    concurrency: positiveIntFromEnv('SALESCALING_MAX_CONCURRENCY', DEFAULT_CONCURRENCY),
  });
  return processLimiter;
}

function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer (got "${raw}")`);
  }
  return value;
}
