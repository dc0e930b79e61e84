/**
 * Re-reading the signing secrets after a signature mismatch, cheaply. A mismatch may mean the secret
 * was just rotated, so it is worth one fresh read; but anyone can send wrong signatures, so a forced
 * read happens at most once per provider per interval, and concurrent mismatches share the read in
 * flight. Powertools parameters caches by age and can force a fetch, but neither limits forced
 * fetches nor shares one between concurrent callers, hence this.
 */

/** How often a provider's mismatches may force a fresh read: rotation still lands within seconds. */
export const FORCED_REFRESH_INTERVAL_MS = 10_000;

export interface SecretSource<T> {
  /** The secrets as cached (the reader's own cache). */
  current(): Promise<T>;
  /**
   * Fresh secrets after a mismatch for `key` (a provider), or undefined when a forced read for it
   * happened less than an interval ago and none is in flight: nothing fresher is known, refuse.
   */
  afterMismatch(key: string): Promise<T | undefined>;
}

export function rateLimitedRefresh<T>(
  read: (options: { forceRefresh: boolean }) => Promise<T>,
  options: { now: () => number; intervalMs?: number },
): SecretSource<T> {
  const intervalMs = options.intervalMs ?? FORCED_REFRESH_INTERVAL_MS;
  const lastForced = new Map<string, number>();
  let inFlight: Promise<T> | undefined;
  return {
    current: () => read({ forceRefresh: false }),
    afterMismatch(key) {
      // A read already under way is at least as fresh as the mismatch: share it.
      if (inFlight) return inFlight;
      const last = lastForced.get(key);
      const now = options.now();
      if (last !== undefined && now - last < intervalMs) return Promise.resolve(undefined);
      lastForced.set(key, now);
      const read$ = read({ forceRefresh: true }).finally(() => {
        inFlight = undefined;
      });
      inFlight = read$;
      return read$;
    },
  };
}
