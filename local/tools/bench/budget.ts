import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { catalog } from '#functions/catalog.ts';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import { requestsPerSecond, salescalingConcurrency } from '#functions/environment.ts';
import type { LoopReport, Stall } from '#local/emulator/loop-watch.ts';
import type { RequestRecord } from '#local/emulator/request-log.ts';
import { peakOverlap } from '#local/tools/peak-overlap.ts';
import { type LocalSystem, startLocalSystem, type ThreadedEmulator } from '#local/tools/system.ts';
import { DEFAULT_OPPORTUNITY_STATUSES } from '#shared/salescaling/assumptions.ts';
import type { BenchSection } from './stats.ts';

/**
 * How fast a burst of new leads drains through the Salescaling budget, counted at the emulator's
 * request log: `burst` alone, and `contention` with a stale sweep running beside it. Each runs once
 * per budget mode (`SALESCALING_BUDGET=static`, today's budget ÷ concurrency split, and `shared`, the
 * one bucket every invocation draws from), side by side in one table.
 */
export const BUDGET_RPS = 20;
export const LATENCY_MS = 50;
/** Requests in flight per invocation: never the limit here (20 requests/s × 50 ms is 1 in flight). */
const MAX_CONCURRENCY = 4;
export const BUDGET_MODES = ['static', 'shared'] as const;
export type BudgetMode = (typeof BUDGET_MODES)[number];
/** Opportunities for the sweep to page through and close while the burst drains. */
const SWEEP_OPPORTUNITIES = 3_000;
/** Leads posted at once, concurrently, over this many connections (the ingest route is not the subject). */
const POSTERS = 25;

export interface BurstRun {
  mode: BudgetMode;
  leads: number;
  calls: number;
  /** From the first POST to the last Salescaling answer of the burst. */
  seconds: number;
  lowerBoundSeconds: number;
  ratio: number;
  /** The most requests that arrived at the emulator within any one second. */
  busiestSecond: number;
  /** Sliding seconds of arrivals above the budget, and how many of them a stall of the emulator's loop overlapped. */
  overBudget: { seconds: number; withStall: number };
  /** The most requests in flight at once, at the emulator. */
  maxInFlight: number;
  /** Lead-sync sandboxes started (cold starts). */
  coldStarts: number;
  /** Lead-sync batches the local queue runs at once (docs/local-runtime.md). */
  batchesAtOnce: number;
  /**
   * How late the emulator's event loop ran (its own worker thread, ms): a request arriving meanwhile
   * is stamped that much late, so arrivals bunch beyond the budget's pacing.
   */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** The emulator loop's stalls of 32 ms or more: seconds after the first POST, and how long (the first 50). */
  loopStalls: { atSeconds: number; ms: number }[];
  /** The machine's 1-minute load average at the start and the end of the run. */
  load: [number, number];
}

export interface ContentionRun extends BurstRun {
  /** Stale deals the sweep had closed when the burst had drained (its progress). */
  sweepClosed: number;
  sweepStale: number;
}

/** The catalog with the form route's throttle lifted, so the whole burst lands at once. */
function burstCatalog(): FunctionDeclaration[] {
  return catalog.map((declaration) => ({
    ...declaration,
    triggers: declaration.triggers.map((trigger) =>
      trigger.kind === 'http' && trigger.throttle
        ? { ...trigger, throttle: { rateLimit: 10_000, burstLimit: 10_000 } }
        : trigger,
    ),
  }));
}

type BenchSystem = LocalSystem<ThreadedEmulator>;

async function startSystem(mode: BudgetMode, withSweep: boolean): Promise<BenchSystem> {
  return startLocalSystem({
    // In a thread of its own, so it stamps arrivals on a loop the runtime's stand-ins (dynalite, SQS,
    // EventBridge, the gateway) never stall, as a real Salescaling server would.
    emulatorThread: true,
    seed: withSweep ? { opportunities: SWEEP_OPPORTUNITIES, seed: 11, staleShare: 0.2 } : undefined,
    platform: { salescalingMaxRps: BUDGET_RPS, salescalingMaxConcurrency: MAX_CONCURRENCY },
    runtime: {
      declarations: burstCatalog(),
      functionEnvironment: { SALESCALING_BUDGET: mode },
      // Redelivery after a failure as the product's queue would, not the tests' short delay.
      queueRetryDelayMs: 1000,
      ...(withSweep
        ? {
            settings: {
              staleDealsConfig: JSON.stringify({ dryRun: false, maxClosesPerRun: SWEEP_OPPORTUNITIES }),
            },
          }
        : {}),
    },
  });
}

const lead = (run: string, i: number) => ({
  email: `lead${i}@company-${run}-${i}.example.com`,
  name: `Lead ${i}`,
  company: `Company ${run} ${i}`,
  deal_name: `Burst ${run} ${i}`,
});

/** Posts `count` new leads at once; resolves when every one is accepted (on the lead-sync queue). */
async function postBurst(system: BenchSystem, run: string, count: number): Promise<void> {
  let next = 0;
  const poster = async () => {
    while (next < count) {
      const i = next++;
      const response = await fetch(`${system.runtime.url}/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(lead(run, i)),
      });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`POST /leads answered ${response.status} for lead ${i}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(POSTERS, count) }, poster));
}

async function drained(system: BenchSystem, expectedOpportunities: number): Promise<void> {
  const queue = system.runtime.queues.find((q) => q.name === 'lead-sync-lead-received');
  // A message leaves the queue only when its batch is done: depth 0 is every lead synced or dead-lettered.
  while ((queue?.depth ?? 0) > 0) await sleep(50);
  const letters = system.runtime.deadLetters.list().filter((l) => l.functionName === 'lead-sync');
  if (letters.length > 0) throw new Error(`${letters.length} lead(s) dead-lettered: ${letters[0]?.reason}`);
  const opportunities = (await system.admin.stats()).store.opportunities ?? 0;
  if (opportunities < expectedOpportunities)
    throw new Error(`${opportunities} opportunities, expected at least ${expectedOpportunities}`);
}

/** The most arrivals within any one-second window (a sliding window over the arrival times). */
export function busiestSecond(arrivals: readonly number[]): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let peak = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= 1000) first++;
    peak = Math.max(peak, last - first + 1);
  }
  return peak;
}

function maxInFlight(requests: readonly RequestRecord[]): number {
  return peakOverlap(requests.map((r) => ({ start: r.receivedAt, end: r.receivedAt + (r.durationMs ?? 0) })));
}

/**
 * A stall of the emulator's event loop at least this long (ms): it stamps requests that reached it
 * meanwhile at the stall's end, together. The margin the bucket leaves for the way to the server is
 * 32 ms (docs/budget.md).
 */
const STALL_MS = 32;

/** Watches the emulator's loop (in its thread) and the machine's load until `stop`. */
async function watchLoad(system: BenchSystem) {
  await system.emulator.watchLoop(STALL_MS);
  const loadAtStart = loadavg()[0] as number;
  return {
    loadAtStart,
    stop: async (): Promise<LoopReport> =>
      (await system.emulator.loopReport()) ?? { delayP99Ms: 0, delayMaxMs: 0, stalls: [] },
  };
}

/**
 * The sliding seconds holding more than `limit` arrivals (counted by the arrival that closes each),
 * and how many of them a stall of the loop overlapped.
 */
export function overBudgetSeconds(
  arrivals: readonly number[],
  limit: number,
  stalls: readonly Stall[],
): { seconds: number; withStall: number } {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let first = 0;
  let seconds = 0;
  let withStall = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= 1000) first++;
    if (last - first + 1 <= limit) continue;
    seconds++;
    const from = sorted[first] as number;
    const to = sorted[last] as number;
    if (stalls.some((s) => s.end >= from && s.end - s.ms <= to)) withStall++;
  }
  return { seconds, withStall };
}

async function measure(
  system: BenchSystem,
  mode: BudgetMode,
  leads: number,
  startedAt: number,
  before: number,
  watch: Awaited<ReturnType<typeof watchLoad>>,
) {
  await drained(system, before + leads);
  const loop = await watch.stop();
  const endedAt = Date.now();
  const requests = (await system.admin.requests()).filter(
    (r) => r.receivedAt >= startedAt && r.receivedAt <= endedAt,
  );
  // Until the burst's last answer: its end (with a sweep beside it, the sweep's requests are counted
  // too, as the emulator cannot tell who calls; both share one key).
  const lastAnswer = Math.max(...requests.map((r) => r.receivedAt + (r.durationMs ?? 0)));
  const seconds = (lastAnswer - startedAt) / 1000;
  const lowerBoundSeconds = requests.length / BUDGET_RPS;
  const result: BurstRun = {
    mode,
    leads,
    calls: requests.length,
    seconds,
    lowerBoundSeconds,
    ratio: seconds / lowerBoundSeconds,
    busiestSecond: busiestSecond(requests.map((r) => r.receivedAt)),
    overBudget: overBudgetSeconds(
      requests.map((r) => r.receivedAt),
      BUDGET_RPS,
      loop.stalls,
    ),
    maxInFlight: maxInFlight(requests),
    coldStarts: system.runtime.hosts.get('lead-sync')?.coldStarts ?? 0,
    batchesAtOnce:
      system.runtime.queues.find((q) => q.name === 'lead-sync-lead-received')?.maxConcurrency ?? 0,
    loopDelayP99Ms: loop.delayP99Ms,
    loopDelayMaxMs: loop.delayMaxMs,
    loopStalls: loop.stalls.slice(0, 50).map((s) => ({
      atSeconds: Math.round((s.end - s.ms - startedAt) / 10) / 100,
      ms: Math.round(s.ms),
    })),
    load: [watch.loadAtStart, loadavg()[0] as number],
  };
  return result;
}

export async function burstRun(mode: BudgetMode, leads: number): Promise<BurstRun> {
  const system = await startSystem(mode, false);
  try {
    await system.admin.setFaults({ latencyMs: LATENCY_MS });
    await system.admin.clearRequests();
    const before = (await system.admin.stats()).store.opportunities ?? 0;
    const watch = await watchLoad(system);
    const startedAt = Date.now();
    await postBurst(system, mode, leads);
    return await measure(system, mode, leads, startedAt, before, watch);
  } finally {
    await system.close();
  }
}

export async function contentionRun(mode: BudgetMode, leads: number): Promise<ContentionRun> {
  const system = await startSystem(mode, true);
  try {
    await system.admin.setFaults({ latencyMs: LATENCY_MS });
    await system.admin.clearRequests();
    const before = (await system.admin.stats()).store.opportunities ?? 0;
    const watch = await watchLoad(system);
    const startedAt = Date.now();
    // Not awaited: the local schedule route answers when the run ends, and the run outlasts the burst
    // (it is cut short when the system closes).
    const sweep = fetch(`${system.runtime.url}/_local/schedules/stale-deals`, { method: 'POST' }).catch(
      () => undefined,
    );
    await postBurst(system, `${mode}-c`, leads);
    const result = await measure(system, mode, leads, startedAt, before, watch);
    const stale = system.emulator.seeded?.staleOpportunityIds ?? [];
    let sweepClosed = 0;
    for (const id of stale)
      if ((await system.admin.opportunityStatus(id)) === DEFAULT_OPPORTUNITY_STATUSES.lost) sweepClosed++;
    void sweep;
    return { ...result, sweepClosed, sweepStale: stale.length };
  } finally {
    await system.close();
  }
}

const f1 = (n: number) => n.toFixed(1);
const loopDelay = (r: BurstRun) => `${Math.round(r.loopDelayP99Ms)} / ${Math.round(r.loopDelayMaxMs)}`;
const overBudget = (r: BurstRun) => `${r.overBudget.seconds} (${r.overBudget.withStall})`;
const loadRange = (r: BurstRun) => `${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}`;
const staticShare = () => requestsPerSecond(BUDGET_RPS, salescalingConcurrency(catalog));

export async function benchBurst(leads: number, modes: readonly BudgetMode[]): Promise<BenchSection> {
  const runs: BurstRun[] = [];
  for (const mode of modes) runs.push(await burstRun(mode, leads));
  return {
    key: 'burst',
    json: { leads, budgetRps: BUDGET_RPS, latencyMs: LATENCY_MS, staticShareRps: staticShare(), runs },
    markdown: [
      `## Burst of ${leads} new leads on a budget of ${BUDGET_RPS} requests/s`,
      '',
      `${leads} new leads (each a new contact, company and opportunity) posted at once to \`POST /leads\` (its throttle lifted), the emulator adding ${LATENCY_MS} ms to every request; lead sync drains them through the local runtime (batches of 5, as many at once as the table says). Counted at the emulator's request log, the emulator in a worker thread of its own (warm), so the loop that stamps arrivals is not the local runtime's; its stalls of 32 ms or more are watched there. One run per budget mode. Lower bound: calls ÷ budget.`,
      '',
      '| Budget | Calls | Drain (s) | Lower bound (s) | × lower bound | Leads/s | Busiest second | Max in flight | Batches at once | Lead-sync sandboxes | Over-budget seconds (of them with a loop stall) | Loop delay p99 / max (ms) | Load (start → end) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...runs.map(
        (r) =>
          `| ${r.mode} | ${r.calls} | ${f1(r.seconds)} | ${f1(r.lowerBoundSeconds)} | ${r.ratio.toFixed(2)} | ${(r.leads / r.seconds).toFixed(2)} | ${r.busiestSecond} | ${r.maxInFlight} | ${r.batchesAtOnce} | ${r.coldStarts} | ${overBudget(r)} | ${loopDelay(r)} | ${loadRange(r)} |`,
      ),
      '',
      `Goal: drain ≤ 1.15 × the lower bound, and the busiest second never above ${BUDGET_RPS}. \`static\` gives each of the ${salescalingConcurrency(catalog)} invocations that may call Salescaling ${staticShare()} requests/s, whether the others are busy or not; \`shared\` is one bucket for all of them (\`SALESCALING_BUDGET\`, docs/salescaling-client.md).`,
      '',
    ],
  };
}

export async function benchContention(leads: number, modes: readonly BudgetMode[]): Promise<BenchSection> {
  const runs: ContentionRun[] = [];
  for (const mode of modes) runs.push(await contentionRun(mode, leads));
  return {
    key: 'contention',
    json: {
      leads,
      budgetRps: BUDGET_RPS,
      latencyMs: LATENCY_MS,
      sweepOpportunities: SWEEP_OPPORTUNITIES,
      runs,
    },
    markdown: [
      `## The same burst (${leads} leads) while a stale sweep runs`,
      '',
      `As above, with a stale sweep (${SWEEP_OPPORTUNITIES.toLocaleString('en-US')} opportunities, a fifth of them stale, closing for real) started with the burst. Counted at the emulator's request log (the emulator in its own thread, as above) from the start until the burst has drained: every request, the sweep's and lead sync's (one key, so the emulator cannot tell them apart; their progress is told by what each has done).`,
      '',
      '| Budget | Calls (both) | Drain (s) | Lower bound (s) | × lower bound | Requests/s (both) | Busiest second (both) | Leads synced | Stale deals closed | Over-budget seconds (of them with a loop stall) | Loop delay p99 / max (ms) | Load (start → end) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...runs.map(
        (r) =>
          `| ${r.mode} | ${r.calls} | ${f1(r.seconds)} | ${f1(r.lowerBoundSeconds)} | ${r.ratio.toFixed(2)} | ${f1(r.calls / r.seconds)} | ${r.busiestSecond} | ${r.leads} of ${r.leads} | ${r.sweepClosed} of ${r.sweepStale} | ${overBudget(r)} | ${loopDelay(r)} | ${loadRange(r)} |`,
      ),
      '',
      `Goal: the busiest second of both together never above ${BUDGET_RPS}, and both making progress. Lower bound: all the calls made in the window ÷ budget.`,
      '',
    ],
  };
}
