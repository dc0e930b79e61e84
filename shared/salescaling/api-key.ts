/**
 * Where the client gets its API key. A provider function, not a string, so that a rotated key is
 * picked up without a restart: after a 401 the client asks once more with `forceRefresh: true`.
 * In Lambda the provider reads Secrets Manager (see the functions' config); in tests it is a stub.
 */
export type ApiKeyProvider = (request: { forceRefresh: boolean }) => Promise<string>;

interface KeyState {
  key: string;
  generation: number;
}

/**
 * Holds the current key and makes refreshes single-flight: when several in-flight requests get a
 * 401 for the same stale key, the provider is asked for a fresh key once, not once per request.
 */
export class ApiKeyCache {
  #provider: ApiKeyProvider;
  #current: Promise<KeyState> | undefined;
  #generation = 0;

  constructor(provider: ApiKeyProvider) {
    this.#provider = provider;
  }

  current(): Promise<KeyState> {
    this.#current ??= this.#load(false);
    return this.#current;
  }

  /** Refreshes unless a newer key than `stale` was already loaded by a concurrent request. */
  async refresh(stale: KeyState): Promise<KeyState> {
    const current = await this.current();
    if (current.generation !== stale.generation) return current;
    this.#current = this.#load(true);
    return this.#current;
  }

  async #load(forceRefresh: boolean): Promise<KeyState> {
    const loading = (async () => {
      const key = (await this.#provider({ forceRefresh })).trim();
      if (key === '') throw new Error('The Salescaling API key provider returned an empty key');
      this.#generation += 1;
      return { key, generation: this.#generation };
    })();
    // A failed load must not stick: the next call tries the provider again.
    loading.catch(() => {
      if (this.#current === loading) this.#current = undefined;
    });
    return loading;
  }
}
