/**
 * A secret that could not be read, named by its id (never its value) with the AWS error that
 * stopped it and what to check. The SDK's own messages often name no secret ("Secrets Manager can't
 * find the specified secret"), and the middlewares wrap them further, so an operator reading the log
 * could not tell which secret, or why, without this.
 */
export class SecretReadError extends Error {
  readonly secretId: string;
  /** The AWS error's name (e.g. AccessDeniedException), or the error's own name. */
  readonly code: string;

  constructor(secretId: string, purpose: string, cause: unknown) {
    const code = awsErrorName(cause);
    super(`Could not read the secret ${secretId} (${purpose}): ${code}${hints[code] ?? ''}`, { cause });
    this.name = 'SecretReadError';
    this.secretId = secretId;
    this.code = code;
  }
}

const hints: Record<string, string> = {
  AccessDeniedException: ": the function's role may not read it, or may not decrypt it with its KMS key",
  ResourceNotFoundException: ': no such secret in this account and region (or it is scheduled for deletion)',
  ThrottlingException: ': Secrets Manager is throttling reads; the next request tries again',
  DecryptionFailure: ': its KMS key cannot decrypt it for this role',
};

/**
 * The name of the AWS error under the wrappers a reader adds (Powertools' GetParameterError, middy's
 * "Failed to resolve internal values" with `cause.data`): the first error with SDK metadata, else
 * the innermost error. Bounded depth: a cycle of causes must not loop.
 */
function awsErrorName(error: unknown): string {
  let current: unknown = error;
  let innermost = 'UnknownError';
  for (let depth = 0; depth < 10 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      if ('$metadata' in current) return current.name;
      innermost = current.name;
    }
    const cause: unknown = (current as { cause?: unknown }).cause;
    const data: unknown = (cause as { data?: unknown } | undefined)?.data;
    current = Array.isArray(data) ? data[0] : cause;
  }
  return innermost;
}
