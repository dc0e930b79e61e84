import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { FaultSettingsInput } from './faults.ts';
import { type LoopReport, watchLoop } from './loop-watch.ts';
import { salescalingContract } from './openapi.ts';
import type { SeedOptions, SeedSummary } from './seed.ts';
import { startEmulator } from './server.ts';

/**
 * The emulator in a worker thread of its own (startLocalSystem's `emulatorThread`), so its request
 * log stamps arrivals on a loop that nothing else shares, as a real Salescaling server's would. The
 * host talks to it over its admin HTTP API; these messages only start it, watch its loop, and stop it.
 */
export interface EmulatorThreadOptions {
  apiKeys: readonly string[];
  seed?: SeedOptions | undefined;
  faults?: FaultSettingsInput | undefined;
}

export type EmulatorThreadRequest =
  | { type: 'watch'; stallMs: number }
  | { type: 'report' }
  | { type: 'close' };

export type EmulatorThreadMessage =
  | {
      type: 'ready';
      url: string;
      apiBaseUrl: string;
      port: number;
      seeded: SeedSummary | undefined;
      threadId: number;
    }
  | { type: 'watching' }
  | { type: 'report'; report: LoopReport | undefined }
  | { type: 'closed' };

const port = parentPort;
if (!port) throw new Error('thread.ts must run as a worker thread');
const options = workerData as EmulatorThreadOptions;

// Warm, as a real server is: its answers' validators compiled before the first request rather than
// on it (about 0.2 s of this loop, which would stamp the burst's first requests together).
salescalingContract().compileAll();
const emulator = await startEmulator({
  apiKeys: options.apiKeys,
  seed: options.seed,
  faults: options.faults,
});
let watch: ReturnType<typeof watchLoop> | undefined;
const post = (message: EmulatorThreadMessage) => port.postMessage(message);

port.on('message', (message: EmulatorThreadRequest) => {
  if (message.type === 'watch') {
    watch?.stop();
    watch = watchLoop(message.stallMs);
    post({ type: 'watching' });
  } else if (message.type === 'report') {
    const report = watch?.stop();
    watch = undefined;
    post({ type: 'report', report });
  } else if (message.type === 'close') {
    watch?.stop();
    void emulator.close().then(() => {
      post({ type: 'closed' });
      port.close();
    });
  }
});

post({
  type: 'ready',
  url: emulator.url,
  apiBaseUrl: emulator.apiBaseUrl,
  port: emulator.port,
  seeded: emulator.seeded,
  threadId,
});
