import type { FaultSettingsInput, ScriptedFaultInput } from './faults.ts';
import type { RequestRecord } from './request-log.ts';
import type { SeedOptions, SeedSummary } from './seed.ts';

/**
 * The emulator's admin routes over HTTP, for tests and scripts that talk to an emulator in
 * another process (the local runtime, a soak run) exactly as they would to one in their own.
 */
export class EmulatorAdmin {
  readonly #base: string;

  /** `url` is the emulator's root, e.g. `http://127.0.0.1:4010`. */
  constructor(url: string) {
    this.#base = `${url.replace(/\/+$/, '')}/_emulator`;
  }

  /** `threadId`: the emulator's worker thread, 0 when it runs on its process's main thread. */
  health(): Promise<{ ok: boolean; threadId: number }> {
    return this.#call('GET', '/health');
  }

  /** An opportunity's status, read from the store (no Salescaling call, nothing logged); undefined if absent. */
  async opportunityStatus(id: string): Promise<unknown> {
    const response = await fetch(`${this.#base}/opportunities/${encodeURIComponent(id)}`);
    const data = (await response.json()) as { status?: unknown; error?: string };
    if (response.status === 404) return undefined;
    if (!response.ok)
      throw new Error(`Emulator admin GET /opportunities failed: ${response.status} ${data.error ?? ''}`);
    return data.status;
  }

  setFaults(settings: FaultSettingsInput): Promise<unknown> {
    return this.#call('PUT', '/faults', settings);
  }

  /** One-shot faults, consumed in order by the next matching requests. */
  scriptFaults(faults: readonly ScriptedFaultInput[]): Promise<unknown> {
    return this.#call('POST', '/faults/script', faults);
  }

  clearFaults(): Promise<unknown> {
    return this.#call('DELETE', '/faults');
  }

  async requests(filter: { operation?: string; since?: number } = {}): Promise<RequestRecord[]> {
    const query = new URLSearchParams();
    if (filter.operation) query.set('operation', filter.operation);
    if (filter.since !== undefined) query.set('since', String(filter.since));
    const result = await this.#call<{ requests: RequestRecord[] }>('GET', `/requests?${query}`);
    return result.requests;
  }

  clearRequests(): Promise<unknown> {
    return this.#call('DELETE', '/requests');
  }

  stats(): Promise<{
    store: Record<string, number>;
    requests: {
      total: number;
      lastSeq: number;
      inFlight: number;
      maxInFlight: number;
      byOperation: Record<string, number>;
    };
  }> {
    return this.#call('GET', '/stats');
  }

  seed(options: SeedOptions = {}): Promise<SeedSummary> {
    return this.#call('POST', '/seed', options);
  }

  /** Empties the store, clears faults and the request log. */
  reset(): Promise<unknown> {
    return this.#call('POST', '/reset');
  }

  setApiKeys(keys: readonly string[]): Promise<unknown> {
    return this.#call('PUT', '/api-keys', { keys });
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.#base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = (await response.json()) as T & { error?: string };
    if (!response.ok)
      throw new Error(`Emulator admin ${method} ${path} failed: ${response.status} ${data.error ?? ''}`);
    return data;
  }
}
