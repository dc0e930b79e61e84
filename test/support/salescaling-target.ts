import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { startEmulator } from '#local/emulator/server.ts';
import { createRequestLimiter } from '#shared/salescaling/limiter.ts';
import { DEFAULT_BASE_URL } from '#shared/salescaling/operations.ts';

/**
 * Where the contract suite runs: the emulator (default), or the live Salescaling API when
 * SALESCALING_BASE_URL and SALESCALING_API_KEY are set. Live runs are read-only unless
 * SALESCALING_CONTRACT_WRITES=true.
 */
export interface ContractTarget {
  kind: 'emulator' | 'live';
  baseUrl: string;
  apiKey: string;
  allowWrites: boolean;
  /** Emulator only. */
  admin: EmulatorAdmin | undefined;
  /** Requests per second the suite may make: generous locally, the client's default live. */
  requestsPerSecond: number;
  close(): Promise<void>;
}

export async function contractTarget(): Promise<ContractTarget> {
  const liveUrl = process.env.SALESCALING_BASE_URL;
  if (liveUrl) {
    const apiKey = process.env.SALESCALING_API_KEY;
    if (!apiKey) throw new Error('SALESCALING_BASE_URL is set but SALESCALING_API_KEY is not');
    return {
      kind: 'live',
      baseUrl: liveUrl === 'default' ? DEFAULT_BASE_URL : liveUrl,
      apiKey,
      allowWrites: process.env.SALESCALING_CONTRACT_WRITES === 'true',
      admin: undefined,
      requestsPerSecond: 3,
      close: async () => {},
    };
  }
  const apiKey = 'contract-suite-key';
  const emulator = await startEmulator({ apiKeys: [apiKey], seed: { opportunities: 30, seed: 7 } });
  return {
    kind: 'emulator',
    baseUrl: emulator.apiBaseUrl,
    apiKey,
    allowWrites: true,
    admin: new EmulatorAdmin(emulator.url),
    requestsPerSecond: 500,
    close: () => emulator.close(),
  };
}

export function limiterFor(target: ContractTarget) {
  return createRequestLimiter({ requestsPerSecond: target.requestsPerSecond, concurrency: 4 });
}
