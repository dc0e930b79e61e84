import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import secretsManager from '@middy/secrets-manager';
import { positiveNumberFromEnv } from '#shared/config/positive-env.ts';
import { SecretReadError } from '#shared/config/secret-error.ts';
import { logger } from '#shared/observability/logger.ts';
import { recordSalescalingEvent } from '#shared/observability/salescaling-metrics.ts';
import type { ApiKeyProvider } from '#shared/salescaling/api-key.ts';
import { SalescalingClient } from '#shared/salescaling/client.ts';

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
 */
export function salescalingKeyFromSecret(secretId: string) {
  const secrets = new SecretsManagerClient({});
  let fromMiddleware: string | undefined;
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
    /** Call with each invocation's context, after the middleware ran. */
    remember(context: { salescalingApiKey?: unknown }) {
      if (typeof context.salescalingApiKey === 'string') fromMiddleware = context.salescalingApiKey;
    },
    middleware: () => {
      const fetch = secretsManager({
        fetchData: { salescalingApiKey: secretId },
        setToContext: true,
        cacheExpiry: KEY_CACHE_MS,
      });
      // middy's own error ("Failed to resolve internal values") names no secret: say which, and why.
      const before: typeof fetch.before = async (request) => {
        try {
          await fetch.before?.(request);
        } catch (cause) {
          throw new SecretReadError(secretId, purpose, cause);
        }
      };
      return { ...fetch, before };
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
  return { client, remember: key.remember, middleware: key.middleware };
}
