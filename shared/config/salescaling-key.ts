import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type middy from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import { positiveNumberFromEnv } from '#shared/config/positive-env.ts';
import { SecretReadError } from '#shared/config/secret-error.ts';
import { logger } from '#shared/observability/logger.ts';
import { recordSalescalingEvent } from '#shared/observability/salescaling-metrics.ts';
import type { ApiKeyProvider } from '#shared/salescaling/api-key.ts';
import { SalescalingClient } from '#shared/salescaling/client.ts';
import { sharedRequestLimiter } from '#shared/salescaling/limiter.ts';

/** How long the middleware keeps the key: five minutes, unless the platform sets it (tests do). */
const KEY_CACHE_MS = positiveNumberFromEnv('SALESCALING_KEY_CACHE_MS', 5 * 60 * 1000, { integer: true });
// middy reads a cacheExpiry above a day as a point in time, not a duration.
if (KEY_CACHE_MS > 86_400_000) throw new Error('SALESCALING_KEY_CACHE_MS must be at most 86400000 (a day)');

/**
 * The Salescaling API key from Secrets Manager, for functions that call Salescaling. The
 * `@middy/secrets-manager` middleware fetches it at cold start and caches it for
 * `SALESCALING_KEY_CACHE_MS` (five minutes); an invocation after the expiry fetches it again, and
 * the client uses whatever the middleware last fetched (`context.salescalingApiKey`), so a new key
 * put in the secret is used within that lifetime with no 401. After a 401 the client asks for a
 * fresh key, read straight from Secrets Manager, and uses it until the middleware's own copy
 * changes. The key never leaves this module but to the client.
 *
 * The handler does not wait for the read: it starts work that needs no key (the idempotency
 * record, the budget) while the read is on the wire, and the client's first request awaits it
 * (a first event one round trip shorter, docs/performance.md). An invocation whose read failed
 * still fails, naming the secret, whether or not it reached Salescaling.
 */
export function salescalingKeyFromSecret(secretId: string) {
  const secrets = new SecretsManagerClient({});
  let fromMiddleware: string | Promise<string> | undefined;
  const purpose = 'the Salescaling API key';
  const read = async () => {
    let SecretString: string | undefined;
    try {
      ({ SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretId })));
    } catch (cause) {
      throw new SecretReadError(secretId, purpose, cause);
    }
    if (!SecretString) throw new Error(`The secret ${secretId} is empty: put the Salescaling API key in it`);
    return SecretString;
  };
  const provider: ApiKeyProvider = async ({ forceRefresh }) =>
    forceRefresh ? read() : (fromMiddleware ?? read());
  return {
    provider,
    /** Call with each invocation's context, after the middleware ran: the key, or its read under way. */
    remember(context: { salescalingApiKey?: unknown }) {
      const key = context.salescalingApiKey;
      if (typeof key === 'string' || key instanceof Promise) fromMiddleware = key as string | Promise<string>;
    },
    middleware: (): middy.MiddlewareObj => {
      const fetch = secretsManager({
        fetchData: { salescalingApiKey: secretId },
        // One cache per secret (middy's default key is shared by every use in the process).
        cacheKey: `salescaling-api-key:${secretId}`,
        setToContext: false,
        cacheExpiry: KEY_CACHE_MS,
      });
      /** This invocation's read (cached: no request while the key is fresh), failing with the secret's name. */
      const pending = new WeakMap<object, Promise<string>>();
      return {
        before: async (request) => {
          // Only starts the read (or takes the cached key): setToContext would wait for it here.
          await fetch.before?.(request as Parameters<NonNullable<typeof fetch.before>>[0]);
          const read = Promise.resolve((request.internal as Record<string, unknown>).salescalingApiKey).then(
            (value) => value as string,
            (cause: unknown) => {
              // middy's own error ("Failed to resolve internal values") names no secret: say which, and why.
              throw new SecretReadError(secretId, purpose, cause);
            },
          );
          read.catch(() => undefined); // awaited in `after`, or by the client; never unhandled
          pending.set(request, read);
          Object.assign(request.context, { salescalingApiKey: read });
        },
        // The invocation fails when the read did, even if the work never needed the key.
        after: async (request) => {
          await pending.get(request);
        },
      };
    },
  };
}

/**
 * The Salescaling client of a function, built once at module scope: its key from the secret (see
 * above), its logs through the function's logger, its calls and retries as metrics.
 */
export function salescalingFromSecret(options: { baseUrl: string; secretId: string }) {
  const key = salescalingKeyFromSecret(options.secretId);
  const client = new SalescalingClient({
    baseUrl: options.baseUrl,
    apiKey: key.provider,
    logger,
    onEvent: recordSalescalingEvent,
  });
  // The shared budget's item is read while the key is (both at cold start), not after it.
  sharedRequestLimiter().prefetch?.();
  return { client, remember: key.remember, middleware: key.middleware };
}
