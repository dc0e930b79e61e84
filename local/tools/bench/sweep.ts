import { setTimeout as sleep } from 'node:timers/promises';
import { catalog } from '#functions/catalog.ts';
import { requestsPerSecond, salescalingConcurrency } from '#functions/environment.ts';
import { startLocalSystem } from '#local/tools/system.ts';
import { type BenchSection, formatSpread, spread } from './stats.ts';

/**
 * A stale-deal sweep of 10,000 opportunities (a tenth of them stale) on the emulator with 20 ms
 * added to every request, through the local runtime, against the lower bound that the sweep's
 * request budget (requests per second, concurrent requests) and the latency set for the requests it
 * must make: every page read, and a read and a write for each deal it closes.
 */
const OPPORTUNITIES = 10_000;
const STALE_SHARE = 0.1;
const LATENCY_MS = 20;
/** The sweep's own share of the budget: requests per second and requests in flight. */
const SWEEP_RPS = 200;
const CONCURRENCY = 4;

export async function benchSweep(runs: number): Promise<BenchSection> {
  const invocations = salescalingConcurrency(catalog);
  const durations: number[] = [];
  const requestCounts: number[] = [];
  let last: { scanned: number; stale: number; closed: number; errors: number } | undefined;
  for (let run = 0; run < runs; run++) {
    const { admin, runtime, close } = await startLocalSystem({
      seed: { opportunities: OPPORTUNITIES, seed: 11, staleShare: STALE_SHARE },
      platform: {
        // The budget is shared by every invocation that may call Salescaling; this gives the sweep SWEEP_RPS.
        salescalingMaxRps: SWEEP_RPS * invocations,
        salescalingMaxConcurrency: CONCURRENCY,
      },
      runtime: {
        settings: { staleDealsConfig: JSON.stringify({ dryRun: false, maxClosesPerRun: OPPORTUNITIES }) },
      },
    });
    try {
      await admin.clearRequests();
      await admin.setFaults({ latencyMs: LATENCY_MS });
      const completed = () =>
        runtime.bus.events.list().filter((e) => e['detail-type'] === 'Stale Sweep Completed');
      const response = await fetch(`${runtime.url}/_local/schedules/stale-deals`, { method: 'POST' });
      if (!response.ok) throw new Error(`Starting the sweep answered ${response.status}`);
      while (completed().length === 0) await sleep(50);
      const detail = completed()[0]?.detail as {
        durationMs: number;
        scanned: number;
        stale: number;
        closed: number;
        errors: number;
      };
      if (detail.scanned !== OPPORTUNITIES)
        throw new Error(`The sweep scanned ${detail.scanned} opportunities`);
      durations.push(detail.durationMs / 1000);
      requestCounts.push((await admin.requests()).length);
      last = detail;
    } finally {
      await close();
    }
  }
  const seconds = spread(durations);
  const requests = spread(requestCounts);
  const perSecondShare = requestsPerSecond(SWEEP_RPS * invocations, invocations);
  const budgetBound = (count: number) => count / perSecondShare;
  const latencyBound = (count: number) => (count * LATENCY_MS) / 1000 / CONCURRENCY;
  const bound = (count: number) => Math.max(budgetBound(count), latencyBound(count));
  const lowerBound = bound(requests.median);
  // Each run against the bound for the requests it made (retries would count against it).
  const ratio = spread(durations.map((d, i) => d / bound(requestCounts[i] ?? requests.median)));
  return {
    key: 'sweep',
    json: {
      opportunities: OPPORTUNITIES,
      staleShare: STALE_SHARE,
      latencyMs: LATENCY_MS,
      requestsPerSecond: perSecondShare,
      concurrency: CONCURRENCY,
      requests,
      seconds,
      lowerBoundSeconds: lowerBound,
      ratio,
      lastRun: last,
    },
    markdown: [
      '## Stale-deal sweep of 10,000 opportunities',
      '',
      `${OPPORTUNITIES.toLocaleString('en-US')} opportunities, ${STALE_SHARE * 100}% of them stale, on the emulator with ${LATENCY_MS} ms added to every request; the sweep runs in the local runtime with ${perSecondShare} requests per second and ${CONCURRENCY} requests in flight as its budget, publishing an event per closed deal. ${runs} runs.`,
      '',
      '| Requests | Sweep (s) | Lower bound (s) | × lower bound |',
      '| ---: | ---: | ---: | ---: |',
      `| ${formatSpread(requests, 0)} | ${formatSpread(seconds)} | ${lowerBound.toFixed(1)} | ${formatSpread(ratio, 2)} |`,
      '',
      `Lower bound: the larger of requests ÷ budget (${budgetBound(requests.median).toFixed(1)} s) and requests × latency ÷ concurrency (${latencyBound(requests.median).toFixed(1)} s). Last run: ${last?.scanned} scanned, ${last?.stale} stale, ${last?.closed} closed, ${last?.errors} errors. A page's stale deals are closed side by side, and the next page's start while its last ones finish (two pages at most); the run record moves past a page once it and every page before it are finished (a page is the checkpoint). The bound leaves out each request's own cost beyond the added latency (see docs/performance.md).`,
      '',
    ],
  };
}
