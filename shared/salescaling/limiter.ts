import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import PQueue from 'p-queue';
import { positiveNumberFromEnv } from '#shared/config/positive-env.ts';
import { logger } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { BudgetUnavailableError, TokenBucket } from './budget.ts';

/**
 * Client-side limiter: caps requests per second (sliding window) and requests in flight. Every
 * HTTP attempt, retries included, passes through it; backoff waits happen outside it so a sleeping
 * retry does not hold a slot.
 */
export interface RequestLimiter {
  schedule<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Salescaling answered 429 (with its Retry-After, if any): slow every caller down. Never throws. */
  rateLimited?(retryAfterMs: number | undefined): Promise<void>;
  /** Starts reading shared state now (a cold start), so the first request need not wait for it. */
  prefetch?(): void;
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

export interface SharedBudgetLimiterOptions {
  bucket: TokenBucket;
  /** Requests in flight in this process (the per-invocation cap stays). */
  concurrency?: number;
  /** Used while the bucket's table cannot be (the safe static share). */
  fallback: RequestLimiter;
  /** How long to stay on the fallback before trying the table again; default 30 s. */
  retryBucketAfterMs?: number;
  now?: () => number;
  /** Told each time a request falls back (the `BudgetFallback` metric). */
  onFallback?: (error: BudgetUnavailableError) => void;
}

/**
 * The shared budget: every request waits for a slot from the DynamoDB token bucket (budget.ts),
 * inside this process's concurrency cap. While the table cannot be used, requests go through the
 * fallback (the static share of the budget, safe whatever the others do) and the table is tried
 * again after `retryBucketAfterMs`.
 */
export function createSharedBudgetLimiter(options: SharedBudgetLimiterOptions): RequestLimiter {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!(concurrency > 0) || !Number.isInteger(concurrency)) {
    throw new Error(`concurrency must be a positive integer (got ${concurrency})`);
  }
  const queue = new PQueue({ concurrency });
  const now = options.now ?? Date.now;
  const retryAfterMs = options.retryBucketAfterMs ?? 30_000;
  let fallbackUntil = 0;
  const fellBack = (error: BudgetUnavailableError) => {
    fallbackUntil = now() + retryAfterMs;
    options.onFallback?.(error);
  };
  return {
    schedule: <T>(task: () => Promise<T>, signal?: AbortSignal) =>
      queue.add(
        async (): Promise<T> => {
          if (now() >= fallbackUntil) {
            try {
              await options.bucket.acquire(signal);
              return await task();
            } catch (error) {
              if (!(error instanceof BudgetUnavailableError)) throw error;
              fellBack(error);
            }
          } else {
            options.onFallback?.(new BudgetUnavailableError('still on the local share'));
          }
          return options.fallback.schedule(task, signal);
        },
        signal ? { signal } : {},
      ),
    prefetch: () => options.bucket.prefetch(),
    rateLimited: async (retryAfter) => {
      if (now() < fallbackUntil) return;
      await options.bucket.rateLimited(retryAfter).catch((error: unknown) => {
        if (error instanceof BudgetUnavailableError) fellBack(error);
      });
    },
  };
}

let processLimiter: RequestLimiter | undefined;

/**
 * The limiter shared by every client of this process (one Lambda container, one local runtime
 * sandbox), created on first use. `SALESCALING_BUDGET` `shared` (the default) with
 * `SALESCALING_BUDGET_TABLE_NAME` set: the DynamoDB token bucket at `SALESCALING_BUDGET_RPS`, falling
 * back to the static share; otherwise the static share alone: `SALESCALING_MAX_RPS` (budget ÷
 * invocations). In flight: `SALESCALING_MAX_CONCURRENCY`.
 */
export function sharedRequestLimiter(): RequestLimiter {
  processLimiter ??= limiterFromEnv(process.env);
  return processLimiter;
}

export function limiterFromEnv(env: NodeJS.ProcessEnv): RequestLimiter {
  const concurrency = positiveNumberFromEnv('SALESCALING_MAX_CONCURRENCY', DEFAULT_CONCURRENCY, {
    integer: true,
  });
  const staticShare = createRequestLimiter({
    requestsPerSecond: positiveNumberFromEnv('SALESCALING_MAX_RPS', DEFAULT_REQUESTS_PER_SECOND),
    concurrency,
  });
  const mode = env.SALESCALING_BUDGET || 'shared';
  if (mode !== 'shared' && mode !== 'static') {
    throw new Error(`SALESCALING_BUDGET must be "shared" or "static" (got "${mode.slice(0, 40)}")`);
  }
  const tableName = env.SALESCALING_BUDGET_TABLE_NAME;
  if (mode === 'static' || !tableName) return staticShare;
  const bucket = new TokenBucket({
    // Fail fast to the fallback rather than hold requests behind an unreachable table.
    client: new DynamoDBClient({
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 500, requestTimeout: 1_000 },
    }),
    tableName,
    ratePerSecond: positiveNumberFromEnv('SALESCALING_BUDGET_RPS', DEFAULT_REQUESTS_PER_SECOND),
  });
  return createSharedBudgetLimiter({
    bucket,
    concurrency,
    fallback: staticShare,
    onFallback: (error) => {
      metrics.addMetric('BudgetFallback', MetricUnit.Count, 1);
      if (error.cause !== undefined) {
        logger.warn('Salescaling budget table unavailable: using the static share for 30 s', {
          error: error.message,
        });
      }
    },
  });
}
