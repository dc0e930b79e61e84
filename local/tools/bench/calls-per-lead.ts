import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalSystem } from '#local/tools/system.ts';
import { type BenchSection, spread } from './stats.ts';

/**
 * Salescaling calls per lead through the whole local system (POST /leads → Lead Received → lead
 * sync), counted in the emulator's request log, against the fewest calls the steps need.
 */
const scenarios = [
  {
    name: 'new lead: new contact, company and opportunity',
    minimum: 7,
    why: 'find contact, create it, find company, create it, create opportunity, link contact, link company',
    body: {
      email: 'ada@analytical.example.com',
      name: 'Ada Lovelace',
      company: 'Analytical',
      deal_name: 'Engines – 10 seats',
    },
  },
  {
    name: 'duplicate delivery of that lead',
    minimum: 0,
    why: 'already done',
    body: {
      email: 'ada@analytical.example.com',
      name: 'Ada Lovelace',
      company: 'Analytical',
      deal_name: 'Engines – 10 seats',
    },
  },
  {
    name: 'returning lead: same contact and company, new deal',
    minimum: 6,
    why: "find contact, find company, find the contact's opportunity, create it, link contact, link company",
    body: {
      email: 'ada@analytical.example.com',
      name: 'Ada Lovelace',
      company: 'Analytical',
      deal_name: 'Engines – 20 seats',
    },
  },
  {
    name: 'returning lead: same deal, nothing changed (new submission)',
    minimum: 4,
    why: "find contact, find company, find the contact's opportunity, read its company links",
    body: {
      email: 'ada@analytical.example.com',
      name: 'Ada Lovelace',
      company: 'Analytical',
      deal_name: 'Engines – 20 seats',
      note: 'again',
    },
  },
] as const;

export async function benchCallsPerLead(runs: number): Promise<BenchSection> {
  const counts: number[][] = scenarios.map(() => []);
  for (let run = 0; run < runs; run++) {
    const { admin, runtime, close } = await startLocalSystem({
      platform: { salescalingMaxRps: 1000, salescalingMaxConcurrency: 4 },
    });
    try {
      for (const [index, scenario] of scenarios.entries()) {
        await admin.clearRequests();
        const before = syncs(runtime.invocations.list());
        const response = await fetch(`${runtime.url}/leads`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(scenario.body),
        });
        if (response.status !== 202)
          throw new Error(`${scenario.name}: POST /leads answered ${response.status}`);
        // The lead sync has run once more, and every queue is empty.
        while (syncs(runtime.invocations.list()) === before || runtime.queues.some((q) => q.depth > 0))
          await sleep(10);
        counts[index]?.push((await admin.requests()).length);
      }
    } finally {
      await close();
    }
  }
  const rows = scenarios.map((s, i) => ({
    scenario: s.name,
    calls: spread(counts[i] ?? []),
    minimum: s.minimum,
    minimumSteps: s.why,
  }));
  return {
    key: 'callsPerLead',
    json: rows,
    markdown: [
      '## Salescaling calls per lead',
      '',
      `Through the whole local system (\`POST /leads\` → \`Lead Received\` → lead sync), counted in the emulator's request log; ${runs} runs (the counts are deterministic).`,
      '',
      '| Lead | Calls | Minimum | × minimum | The minimum |',
      '| --- | ---: | ---: | ---: | --- |',
      ...rows.map(
        (r) =>
          `| ${r.scenario} | ${r.calls.median} | ${r.minimum} | ${r.minimum === 0 ? (r.calls.median === 0 ? '—' : '∞') : (r.calls.median / r.minimum).toFixed(2)} | ${r.minimumSteps} |`,
      ),
      '',
      'The one call above the minimum for a returning contact with a new deal is the look for an unlinked opportunity of the same name, left by a run that crashed between creating and linking: the price of never duplicating a deal.',
      '',
    ],
  };
}

const syncs = (records: readonly { functionName: string; outcome: string }[]) =>
  records.filter((r) => r.functionName === 'lead-sync' && r.outcome === 'ok').length;
