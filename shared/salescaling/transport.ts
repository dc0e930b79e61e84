import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import { positiveNumberFromEnv } from '#shared/config/positive-env.ts';
import { ApiKeyCache, type ApiKeyProvider } from './api-key.ts';
import { recordCall } from './call-counter.ts';
import {
  redact,
  SalescalingError,
  type SalescalingErrorOptions,
  SalescalingInvalidRequestError,
  SalescalingNetworkError,
  SalescalingNotFoundError,
  SalescalingRateLimitedError,
  SalescalingServerError,
  SalescalingTimeoutError,
  SalescalingUnauthorizedError,
  SalescalingUnexpectedResponseError,
} from './errors.ts';
import { fetchExchange, type HttpExchange, nodeHttpExchange } from './http-exchange.ts';
import { type RequestLimiter, sharedRequestLimiter } from './limiter.ts';
import { DEFAULT_BASE_URL, expandPath, type OperationName, operations } from './operations.ts';
import { envelopeSchema } from './schemas.ts';

/** The subset of Powertools Logger the client uses, so any structured logger fits. */
export interface SalescalingLogger {
  debug(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
}

/** What the transport reports, for metrics: each answer (or failure), each retry and its wait. */
export type TransportEvent =
  | {
      type: 'response';
      operation: OperationName;
      outcome: '2xx' | '4xx' | '429' | '5xx' | 'timeout' | 'network';
    }
  | { type: 'retry'; operation: OperationName; delayMs: number; rateLimited: boolean };

export interface TransportOptions {
  /** Default `https://api.salescaling.com/api/v1/`. */
  baseUrl?: string | undefined;
  apiKey: ApiKeyProvider;
  /** Per attempt, from sending the request to reading the whole body. Default 10 s. */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt, for retryable failures. Default 3. */
  retries?: number | undefined;
  /** Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))]. */
  baseDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  /**
   * The longest `Retry-After` the client waits out itself (default 30 s). A longer one fails at once
   * with a `SalescalingRateLimitedError` carrying the wait, so a queue can delay the message instead
   * of a Lambda sleeping.
   */
  maxRetryAfterMs?: number | undefined;
  /** Default: the process-wide limiter, shared by every client in this process. */
  limiter?: RequestLimiter | undefined;
  /** Tests inject a `fetch`; by default requests go over `node:http(s)` (see http-exchange.ts). */
  fetch?: typeof globalThis.fetch | undefined;
  logger?: SalescalingLogger | undefined;
  /** Jitter source, injectable for tests. */
  random?: (() => number) | undefined;
  /** Told of every answer and retry (never of the key). */
  onEvent?: ((event: TransportEvent) => void) | undefined;
}

export interface RequestSpec {
  operation: OperationName;
  pathParams?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

export interface TransportResult {
  data: unknown;
  count: number | null | undefined;
  status: number;
}

interface RawResponse {
  status: number;
  retryAfter: string | null;
  text: string;
}

/** Connection errors that mean nothing was sent, so even a POST may be retried. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const MAX_SERVER_MESSAGE = 300;

/**
 * One HTTP exchange with Salescaling: limiter, per-attempt timeout, envelope unwrapping, typed
 * errors, key refresh on 401, and retries with exponential backoff and full jitter.
 *
 * Retry policy: GET, PUT and DELETE retry on 429, 5xx, timeouts and network errors. A POST retries
 * only when it certainly was not applied (429, or a connection that never opened); after a timeout,
 * a dropped connection or a 5xx its outcome is unknown, and it fails with `outcomeUnknown: true`.
 */
export class SalescalingTransport {
  readonly baseUrl: string;
  #keys: ApiKeyCache;
  #timeoutMs: number;
  #retries: number;
  #baseDelayMs: number;
  #maxDelayMs: number;
  #maxRetryAfterMs: number;
  #limiter: RequestLimiter;
  #exchange: HttpExchange;
  #logger: SalescalingLogger | undefined;
  #random: () => number;
  #onEvent: ((event: TransportEvent) => void) | undefined;
  #lastKey: string | undefined;

  constructor(options: TransportOptions) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    if (!/^https?:\/\//.test(this.baseUrl)) {
      throw new Error(`Salescaling base URL must be an http(s) URL (got "${this.baseUrl}")`);
    }
    this.#keys = new ApiKeyCache(options.apiKey);
    // SALESCALING_TIMEOUT_MS: set per function by the platform when it is not the default.
    this.#timeoutMs =
      options.timeoutMs ?? positiveNumberFromEnv('SALESCALING_TIMEOUT_MS', 10_000, { integer: true });
    this.#retries = options.retries ?? 3;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 8_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.#limiter = options.limiter ?? sharedRequestLimiter();
    this.#exchange = options.fetch ? fetchExchange(options.fetch) : nodeHttpExchange;
    this.#logger = options.logger;
    this.#random = options.random ?? Math.random;
    this.#onEvent = options.onEvent;
  }

  async request(spec: RequestSpec): Promise<TransportResult> {
    const { method } = operations[spec.operation];
    const url = this.#url(spec);
    return pRetry(
      async (attemptNumber: number) => {
        try {
          return await this.#attempt(spec, method, url, attemptNumber);
        } catch (error) {
          if (error instanceof SalescalingError && this.#shouldRetry(error, method)) throw error;
          // Not retryable: p-retry rejects with `error` itself.
          throw new AbortError(error instanceof Error ? error : new Error(String(error)));
        }
      },
      {
        retries: this.#retries,
        // Delays are ours (full jitter or Retry-After), waited in onFailedAttempt.
        minTimeout: 0,
        factor: 1,
        signal: spec.signal,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft <= 0) return;
          const delayMs = this.#delayBeforeRetry(error, attemptNumber);
          this.#onEvent?.({
            type: 'retry',
            operation: spec.operation,
            delayMs,
            rateLimited: error instanceof SalescalingRateLimitedError,
          });
          this.#logger?.warn('Salescaling request failed, retrying', {
            operation: spec.operation,
            attempt: attemptNumber,
            delayMs,
            error: error instanceof SalescalingError ? error.toJSON() : { message: error.message },
          });
          await sleep(delayMs, undefined, spec.signal ? { signal: spec.signal } : {});
        },
      },
    );
  }

  #shouldRetry(error: SalescalingError, method: string): boolean {
    if (!error.retryable) return false;
    if (error instanceof SalescalingRateLimitedError) {
      return (error.retryAfterMs ?? 0) <= this.#maxRetryAfterMs;
    }
    if (method === 'POST') {
      // A POST may only be repeated when Salescaling certainly did not apply it.
      return error instanceof SalescalingNetworkError && !error.outcomeUnknown;
    }
    return true;
  }

  #delayBeforeRetry(error: Error, attemptNumber: number): number {
    if (error instanceof SalescalingRateLimitedError && error.retryAfterMs !== undefined) {
      return error.retryAfterMs;
    }
    return fullJitterDelay(attemptNumber, this.#baseDelayMs, this.#maxDelayMs, this.#random);
  }

  async #attempt(spec: RequestSpec, method: string, url: string, attempt: number): Promise<TransportResult> {
    let key = await this.#keys.current().catch((cause: unknown) => {
      throw new SalescalingUnauthorizedError(
        `Salescaling ${spec.operation}: the API key could not be loaded (${cause instanceof Error ? cause.message : 'unknown error'})`,
        { operation: spec.operation, attempts: attempt, cause },
      );
    });
    let response = await this.#send(spec, method, url, key, attempt);
    if (response.status === 401) {
      // The key may have been rotated: ask the provider for a fresh one, once.
      this.#logger?.warn('Salescaling answered 401; refreshing the API key once', {
        operation: spec.operation,
      });
      key = await this.#keys.refresh(key);
      response = await this.#send(spec, method, url, key, attempt);
    }
    return this.#interpret(spec, method, response, attempt);
  }

  async #send(
    spec: RequestSpec,
    method: string,
    url: string,
    key: string,
    attempt: number,
  ): Promise<RawResponse> {
    this.#lastKey = key;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-api-key': key,
      'user-agent': 'salescaling-automation',
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.body);
    }
    const errorOptions = (cause: unknown, outcomeUnknown: boolean): SalescalingErrorOptions => ({
      operation: spec.operation,
      attempts: attempt,
      outcomeUnknown,
      cause,
    });
    return this.#limiter.schedule(async () => {
      // The timeout starts when the request leaves the limiter, not while it waits for a slot.
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
      recordCall(spec.operation);
      try {
        const response = await this.#exchange(url, { method, headers, body, signal });
        const status = response.status;
        this.#onEvent?.({
          type: 'response',
          operation: spec.operation,
          outcome: status === 429 ? '429' : status >= 500 ? '5xx' : status >= 400 ? '4xx' : '2xx',
        });
        return response;
      } catch (error) {
        if (spec.signal?.aborted) throw error; // cancelled by the caller: not ours to classify
        if (timeout.aborted) {
          this.#onEvent?.({ type: 'response', operation: spec.operation, outcome: 'timeout' });
          const unknown = method === 'POST';
          throw new SalescalingTimeoutError(
            `Salescaling ${spec.operation} timed out after ${this.#timeoutMs} ms${attemptsSuffix(attempt)}${unknown ? OUTCOME_UNKNOWN : ''}`,
            errorOptions(error, unknown),
          );
        }
        this.#onEvent?.({ type: 'response', operation: spec.operation, outcome: 'network' });
        const code = networkErrorCode(error);
        const unknown = method === 'POST' && !NOT_SENT_CODES.has(code ?? '');
        throw new SalescalingNetworkError(
          `Salescaling ${spec.operation} failed: network error${code ? ` ${code}` : ''}${attemptsSuffix(attempt)}${unknown ? OUTCOME_UNKNOWN : ''}`,
          errorOptions(error, unknown),
        );
      }
    }, spec.signal);
  }

  #interpret(spec: RequestSpec, method: string, response: RawResponse, attempt: number): TransportResult {
    const { status } = response;
    let json: unknown;
    let parsed = false;
    try {
      json = response.text === '' ? undefined : JSON.parse(response.text);
      parsed = true;
    } catch {
      // Not JSON (a proxy's HTML error page, say): handled below.
    }
    const envelope = parsed ? envelopeSchema.safeParse(json) : undefined;
    const base = { operation: spec.operation, status, attempts: attempt };

    if (status >= 200 && status < 300) {
      if (!envelope?.success) {
        throw new SalescalingUnexpectedResponseError(
          `Salescaling ${spec.operation} returned ${status} with a body that is not the documented envelope`,
          base,
        );
      }
      return { data: envelope.data.data, count: envelope.data.count, status };
    }

    const rawMessage = envelope?.success ? envelope.data.error : parsed ? undefined : response.text;
    const serverMessage = rawMessage
      ? redact(rawMessage, [this.#lastKey]).slice(0, MAX_SERVER_MESSAGE).trim() || undefined
      : undefined;
    const options = { ...base, serverMessage };
    const what = `Salescaling ${spec.operation} failed: ${status}${serverMessage ? ` ${serverMessage}` : ''}`;

    if (status === 401 || status === 403) {
      const hint =
        status === 401
          ? ' (the API key is missing, invalid or expired; a fresh key was requested once)'
          : ' (the API key lacks a scope this operation needs)';
      throw new SalescalingUnauthorizedError(`${what}${hint}`, options);
    }
    if (status === 404) throw new SalescalingNotFoundError(what, options);
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.retryAfter, Date.now());
      // Every caller slows down, not only this one (the shared budget); never awaited, never throws.
      void this.#limiter.rateLimited?.(retryAfterMs);
      throw new SalescalingRateLimitedError(
        `${what}${retryAfterMs === undefined ? '' : ` (retry after ${retryAfterMs} ms)`}${attemptsSuffix(attempt)}`,
        { ...options, retryAfterMs },
      );
    }
    if (status >= 500) {
      const unknown = method === 'POST';
      throw new SalescalingServerError(`${what}${attemptsSuffix(attempt)}${unknown ? OUTCOME_UNKNOWN : ''}`, {
        ...options,
        outcomeUnknown: unknown,
      });
    }
    throw new SalescalingInvalidRequestError(what, options);
  }

  #url(spec: RequestSpec): string {
    const path = expandPath(operations[spec.operation].path, spec.pathParams ?? {});
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }
}

const OUTCOME_UNKNOWN =
  '; the request may have been applied, so it was not retried: look the record up before trying again';

function attemptsSuffix(attempt: number): string {
  return attempt > 1 ? ` (attempt ${attempt})` : '';
}

function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Exponential backoff with full jitter: a random wait in [0, min(max, base * 2^(attempt-1))). */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds from `now`; undefined if absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
