import type { FieldIssue } from '#shared/salescaling/schemas.ts';

/**
 * The errors a handler may throw on purpose. The HTTP error middleware turns them into answers
 * once; anything else is an internal error, logged and answered with a generic 500.
 */
export type RequestErrorStatus = 400 | 401 | 403 | 404 | 413 | 415 | 429;

/** The client's mistake: a 4xx with a message (and the offending fields) safe to show it. */
export class RequestError extends Error {
  readonly status: RequestErrorStatus;
  readonly fields: readonly FieldIssue[];

  constructor(
    status: RequestErrorStatus,
    message: string,
    options: { fields?: readonly FieldIssue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RequestError';
    this.status = status;
    this.fields = options.fields ?? [];
  }
}

/** Ours or a dependency's, and temporary: 503, so the sender retries. The message is not shown. */
export class ServiceUnavailableError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServiceUnavailableError';
  }
}
