import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { catalog } from '#functions/catalog.ts';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import type { LoopReport } from '#local/emulator/loop-watch.ts';
import type { SeedSummary } from '#local/emulator/seed.ts';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import type {
  EmulatorThreadMessage,
  EmulatorThreadOptions,
  EmulatorThreadRequest,
} from '#local/emulator/thread.ts';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '#local/runtime/runtime.ts';

/**
 * The whole system on loopback, as the soak and the benchmarks run it: the emulator with one API
 * key (and its seed), and the local runtime with the product's catalog pointed at it — quiet, its
 * schedules fired only on demand. Each caller passes only its budget and what it varies.
 */
export interface LocalSystem<Emulator = RunningEmulator> {
  emulator: Emulator;
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

/**
 * The emulator in a worker thread of its own (local/emulator/thread.ts): reached only over HTTP (its
 * admin API through `LocalSystem.admin`), its event loop shared with nothing, as a real server's.
 */
export interface ThreadedEmulator {
  url: string;
  apiBaseUrl: string;
  port: number;
  seeded: SeedSummary | undefined;
  /** The emulator's thread (never the main thread's 0). */
  threadId: number;
  /** Starts watching the emulator's own loop for stalls of at least `stallMs`. */
  watchLoop(stallMs: number): Promise<void>;
  /** Stops watching and says what its loop did meanwhile. */
  loopReport(): Promise<LoopReport | undefined>;
  close(): Promise<void>;
}

export async function startEmulatorThread(options: EmulatorThreadOptions): Promise<ThreadedEmulator> {
  const worker = new Worker(new URL('../emulator/thread.ts', import.meta.url), { workerData: options });
  // A thread that has exited answers nothing: whoever waits on it is told, rather than left hanging.
  const exited = once(worker, 'exit').then(([code]) => {
    throw new Error(`The emulator thread exited (code ${code})`);
  });
  exited.catch(() => undefined);
  const next = async <T extends EmulatorThreadMessage['type']>(type: T) => {
    // One message at a time: each request is answered before the next is sent.
    const [message] = (await Promise.race([once(worker, 'message'), exited])) as [EmulatorThreadMessage];
    if (message.type !== type) throw new Error(`Emulator thread answered ${message.type}, expected ${type}`);
    return message as Extract<EmulatorThreadMessage, { type: T }>;
  };
  const ask = <T extends EmulatorThreadMessage['type']>(request: EmulatorThreadRequest, type: T) => {
    const answer = next(type);
    worker.postMessage(request);
    return answer;
  };
  let ready: Extract<EmulatorThreadMessage, { type: 'ready' }>;
  try {
    // `once` rejects on the worker's 'error' event: a failed start is thrown here.
    ready = await next('ready');
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    url: ready.url,
    apiBaseUrl: ready.apiBaseUrl,
    port: ready.port,
    seeded: ready.seeded,
    threadId: ready.threadId,
    watchLoop: async (stallMs) => {
      await ask({ type: 'watch', stallMs }, 'watching');
    },
    loopReport: async () => (await ask({ type: 'report' }, 'report')).report,
    close: () => {
      closed ??= ask({ type: 'close' }, 'closed').then(
        async () => void (await worker.terminate()),
        async () => void (await worker.terminate()),
      );
      return closed;
    },
  };
}

interface LocalSystemOptions {
  seed?: EmulatorOptions['seed'];
  platform: Omit<LocalRuntimeOptions['platform'], 'logLevel' | 'salescalingBaseUrl'>;
  runtime?: Partial<Omit<LocalRuntimeOptions, 'platform' | 'secrets'>>;
}

/**
 * `emulatorThread: true` runs the emulator in a worker thread of its own (the burst benchmarks, so
 * arrivals are stamped on a loop the runtime's stand-ins do not stall); otherwise it runs in this
 * process, its store and log at hand.
 */
export function startLocalSystem(
  options: LocalSystemOptions & { emulatorThread: true },
): Promise<LocalSystem<ThreadedEmulator>>;
export function startLocalSystem(
  options: LocalSystemOptions & { emulatorThread?: false },
): Promise<LocalSystem<RunningEmulator>>;
export async function startLocalSystem(
  options: LocalSystemOptions & { emulatorThread?: boolean },
): Promise<LocalSystem<RunningEmulator | ThreadedEmulator>> {
  const emulator = options.emulatorThread
    ? await startEmulatorThread({ apiKeys: [API_KEY], seed: options.seed })
    : await startEmulator({ apiKeys: [API_KEY], seed: options.seed });
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
