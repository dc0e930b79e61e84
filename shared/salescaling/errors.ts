import type { OperationName } from './operations.ts';
import type { FieldIssue } from './schemas.ts';

/**
 * Typed Salescaling errors. Each names the operation and HTTP status (when there was one) and
 * whether retrying later may help. None carries the API key: messages are built from the operation,
 * the status and Salescaling's own error text, and that text is redacted of the key before use.
 *
 * `outcomeUnknown` is set when a write may or may not have been applied (a POST that timed out or
 * whose connection dropped after sending). Such a request is never retried by the client: the caller
 * must look the record up before trying again, because Salescaling has no idempotency keys.
 */
export interface SalescalingErrorOptions {
  operation: OperationName;
  status?: number | undefined;
  attempts?: number | undefined;
  serverMessage?: string | undefined;
  outcomeUnknown?: boolean | undefined;
  cause?: unknown;
}

export abstract class SalescalingError extends Error {
  readonly operation: OperationName;
  readonly status: number | undefined;
  readonly attempts: number;
  /** Salescaling's own error text (redacted, truncated), when it sent one. */
  readonly serverMessage: string | undefined;
  readonly outcomeUnknown: boolean;
  /** Whether the same request may succeed later (drives retries here and in queues). */
  abstract readonly retryable: boolean;

  constructor(message: string, options: SalescalingErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.operation = options.operation;
    this.status = options.status;
    this.attempts = options.attempts ?? 1;
    this.serverMessage = options.serverMessage;
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }

  /** A log-safe view; Powertools Logger and JSON.stringify use it. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      operation: this.operation,
      status: this.status,
      attempts: this.attempts,
      retryable: this.retryable,
      outcomeUnknown: this.outcomeUnknown,
      serverMessage: this.serverMessage,
    };
  }
}

/** 401 (missing, invalid or expired key, after one refresh) or 403 (key lacks a scope). */
export class SalescalingUnauthorizedError extends SalescalingError {
  readonly retryable = false;
}

export class SalescalingNotFoundError extends SalescalingError {
  readonly retryable = false;
}

/**
 * 400/409/422 (and other 4xx) from Salescaling, or input rejected by the client before any request
 * (then `status` is undefined and `fields` names every offending field).
 */
export class SalescalingInvalidRequestError extends SalescalingError {
  readonly retryable = false;
  readonly fields: readonly FieldIssue[];

  constructor(message: string, options: SalescalingErrorOptions & { fields?: readonly FieldIssue[] }) {
    super(message, options);
    this.fields = options.fields ?? [];
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), fields: this.fields };
  }
}

export class SalescalingRateLimitedError extends SalescalingError {
  readonly retryable = true;
  /** How long Salescaling asked us to wait (`Retry-After`), when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: SalescalingErrorOptions & { retryAfterMs?: number | undefined }) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

export class SalescalingServerError extends SalescalingError {
  readonly retryable = true;
}

export class SalescalingTimeoutError extends SalescalingError {
  readonly retryable = true;
}

export class SalescalingNetworkError extends SalescalingError {
  readonly retryable = true;
}

/** A 2xx answer whose body is not the documented envelope or record shape. */
export class SalescalingUnexpectedResponseError extends SalescalingError {
  readonly retryable = false;
}

/** Replaces every occurrence of each secret in `text`; used on anything that came off the wire. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result;
}
