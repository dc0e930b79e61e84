import { catalog } from '#functions/catalog.ts';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '#local/runtime/runtime.ts';

/**
 * The whole system on loopback, as the soak and the benchmarks run it: the emulator with one API
 * key (and its seed), and the local runtime with the product's catalog pointed at it — quiet, its
 * schedules fired only on demand. Each caller passes only its budget and what it varies.
 */
export interface LocalSystem {
  emulator: RunningEmulator;
  admin: EmulatorAdmin;
  runtime: LocalRuntime;
  close(): Promise<void>;
}

/**
 * The local runtime as the tools and tests start it: the product's catalog on a free port, quiet,
 * schedules fired only on demand, Salescaling pointed nowhere unless a caller gives its emulator.
 * A caller passes only what it varies.
 */
export function startQuietRuntime(
  options: Partial<Omit<LocalRuntimeOptions, 'platform'>> & {
    platform?: Partial<LocalRuntimeOptions['platform']>;
  } = {},
): Promise<LocalRuntime> {
  const { platform, ...rest } = options;
  return startLocalRuntime({
    declarations: catalog,
    port: 0,
    secrets: { salescalingApiKey: 'k' },
    schedules: 'manual',
    log: () => undefined,
    functionOutput: () => undefined,
    ...rest,
    platform: {
      logLevel: 'ERROR',
      salescalingBaseUrl: 'http://127.0.0.1:9/api/v1/',
      salescalingMaxRps: 5,
      salescalingMaxConcurrency: 3,
      ...platform,
    },
  });
}

const API_KEY = 'local-system-key';

export async function startLocalSystem(options: {
  seed?: EmulatorOptions['seed'];
  platform: Omit<LocalRuntimeOptions['platform'], 'logLevel' | 'salescalingBaseUrl'>;
  runtime?: Partial<Omit<LocalRuntimeOptions, 'platform' | 'secrets'>>;
}): Promise<LocalSystem> {
  const emulator = await startEmulator({ apiKeys: [API_KEY], seed: options.seed });
  try {
    const runtime = await startQuietRuntime({
      ...options.runtime,
      platform: { salescalingBaseUrl: emulator.apiBaseUrl, ...options.platform },
      secrets: { salescalingApiKey: API_KEY },
    });
    return {
      emulator,
      admin: new EmulatorAdmin(emulator.url),
      runtime,
      close: async () => {
        await runtime.close();
        await emulator.close();
      },
    };
  } catch (error) {
    await emulator.close();
    throw error;
  }
}
