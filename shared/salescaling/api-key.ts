/**
 * Where the client gets its API key. A provider function, not a string, so that a rotated key is
 * picked up without a restart: it is asked before every request (it answers from its own cache, so
 * a key it refreshes is used at once), and after a 401 once more with `forceRefresh: true`.
 * In Lambda the provider reads Secrets Manager (see shared/config/salescaling-key.ts); in tests it
 * is a stub.
 */
export type ApiKeyProvider = (request: { forceRefresh: boolean }) => Promise<string>;

interface Refresh {
  /** The key Salescaling rejected. */
  stale: string;
  fresh: Promise<string>;
}

/**
 * Asks the provider for the key of each request, and makes refreshes single-flight: when several
 * requests get a 401 for the same stale key, the provider is asked for a fresh key once, not once
 * per request. Until the provider's own answer changes from that stale key (its cache may hold it
 * a while longer), requests use the fresh one.
 */
export class ApiKeyCache {
  #provider: ApiKeyProvider;
  #lastRefresh: Refresh | undefined;

  constructor(provider: ApiKeyProvider) {
    this.#provider = provider;
  }

  async current(): Promise<string> {
    const key = await this.#load(false);
    const refresh = this.#lastRefresh;
    return refresh && key === refresh.stale ? refresh.fresh : key;
  }

  /** A fresh key after `stale` met a 401: one provider read for every request that met it. */
  refresh(stale: string): Promise<string> {
    if (this.#lastRefresh?.stale === stale) return this.#lastRefresh.fresh;
    const refresh: Refresh = { stale, fresh: this.#load(true) };
    // A failed refresh, or one that found the same key (the secret not yet updated, or a 401 that
    // was not about the key), must not stick: the next 401 asks the provider again.
    const forget = () => {
      if (this.#lastRefresh === refresh) this.#lastRefresh = undefined;
    };
    refresh.fresh.then((fresh) => {
      if (fresh === stale) forget();
    }, forget);
    this.#lastRefresh = refresh;
    return refresh.fresh;
  }

  async #load(forceRefresh: boolean): Promise<string> {
    const key = (await this.#provider({ forceRefresh })).trim();
    if (key === '') throw new Error('The Salescaling API key provider returned an empty key');
    return key;
  }
}
