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

const API_KEY = 'local-system-key';

export async function startLocalSystem(options: {
  seed?: EmulatorOptions['seed'];
  platform: Omit<LocalRuntimeOptions['platform'], 'logLevel' | 'salescalingBaseUrl'>;
  runtime?: Partial<Omit<LocalRuntimeOptions, 'platform' | 'secrets'>>;
}): Promise<LocalSystem> {
  const emulator = await startEmulator({ apiKeys: [API_KEY], seed: options.seed });
  try {
    const runtime = await startLocalRuntime({
      declarations: catalog,
      port: 0,
      schedules: 'manual',
      log: () => undefined,
      functionOutput: () => undefined,
      ...options.runtime,
      platform: { logLevel: 'ERROR', salescalingBaseUrl: emulator.apiBaseUrl, ...options.platform },
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
