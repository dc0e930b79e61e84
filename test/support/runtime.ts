import { catalog } from '#functions/catalog.ts';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '#local/runtime/runtime.ts';

/**
 * The local runtime as tests start it: the product's catalog on a free port, quiet, schedules
 * fired only on demand, Salescaling pointed nowhere unless a test gives its emulator. A test
 * passes only what it varies.
 */
export function startTestRuntime(
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
