import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Watches the calling thread's event loop: its delay, and each stall at least `stallMs` long. A
 * server on a stalled loop stamps the requests that reached it meanwhile at the stall's end, together,
 * so a benchmark counting arrivals must know when the loop that stamps them stalled.
 */
export interface Stall {
  /** Epoch ms when the loop ran again, and how late it was. */
  end: number;
  ms: number;
}

export interface LoopReport {
  /** How late the loop ran beyond its timer (ms). */
  delayP99Ms: number;
  delayMaxMs: number;
  stalls: Stall[];
}

const RESOLUTION_MS = 10;
const TICK_MS = 5;

export function watchLoop(stallMs: number): { stop(): LoopReport } {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const stalls: Stall[] = [];
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    if (now - last - TICK_MS >= stallMs) stalls.push({ end: Date.now(), ms: now - last - TICK_MS });
    last = now;
  }, TICK_MS);
  return {
    stop: () => {
      delay.disable();
      clearInterval(tick);
      // The histogram counts from the resolution's expected wake-up: its excess over that, in ms.
      return {
        delayP99Ms: Math.max(0, delay.percentile(99) / 1e6 - RESOLUTION_MS),
        delayMaxMs: Math.max(0, delay.max / 1e6 - RESOLUTION_MS),
        stalls,
      };
    },
  };
}
