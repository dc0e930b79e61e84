import autocannon from 'autocannon';
import { catalog } from '#functions/catalog.ts';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { type BenchSection, formatSpread, spread } from './stats.ts';

/**
 * `POST /leads` on the local runtime under autocannon: requests per second and latency, each request
 * a different lead, validated, turned into `Lead Received` and published to the local bus before the
 * 202 — as deployed. Only the ingest function runs (nothing consumes the events, so the lead sync
 * does not compete for the CPU), and its route throttle, a deployment setting, is lifted.
 */
const CONNECTIONS = 10;
const SECONDS = 5;

export async function benchIngest(runs: number): Promise<BenchSection> {
  const ingest = catalog.find((d) => d.name === 'lead-ingest');
  if (!ingest) throw new Error('No lead-ingest function in the catalog');
  const declaration: FunctionDeclaration = {
    ...ingest,
    triggers: ingest.triggers.map((t) => (t.kind === 'http' ? { ...t, throttle: undefined } : t)),
  };
  const runtime = await startQuietRuntime({ declarations: [declaration] });
  try {
    let counter = 0;
    const load = (seconds: number) =>
      autocannon({
        url: `${runtime.url}/leads`,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => {
              counter += 1;
              return {
                ...request,
                body: JSON.stringify({
                  email: `bench-${counter}@company-${counter % 500}.example.com`,
                  name: `Bench Person ${counter}`,
                  company: `Company ${counter % 500}`,
                  deal_name: `Bench deal ${counter}`,
                }),
              };
            },
          },
        ],
      });
    await load(2); // warm-up: the function's cold start is not part of the figure
    const results = [];
    for (let run = 0; run < runs; run++) results.push(await load(SECONDS));
    const failures = results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
    const answered = results.reduce((n, r) => n + r['2xx'], 0);
    if (answered === 0) throw new Error('No request was accepted');
    const rps = spread(results.map((r) => r.requests.average));
    const p50 = spread(results.map((r) => r.latency.p50));
    const p99 = spread(results.map((r) => r.latency.p99));
    return {
      key: 'ingest',
      json: {
        connections: CONNECTIONS,
        secondsPerRun: SECONDS,
        requestsPerSecond: rps,
        p50Ms: p50,
        p99Ms: p99,
        accepted: answered,
        failures,
      },
      markdown: [
        '## Ingest: `POST /leads` under load',
        '',
        `autocannon, ${CONNECTIONS} connections, ${runs} runs of ${SECONDS} s after a warm-up; every request a different lead, answered 202 only after \`Lead Received\` is published to the local bus. Only the ingest function runs, with its route throttle lifted.`,
        '',
        '| Requests/s | p50 (ms) | p99 (ms) | Accepted | Failed |',
        '| ---: | ---: | ---: | ---: | ---: |',
        `| ${formatSpread(rps, 0)} | ${formatSpread(p50, 0)} | ${formatSpread(p99, 0)} | ${answered.toLocaleString('en-US')} | ${failures} |`,
        '',
      ],
    };
  } finally {
    await runtime.close();
  }
}
