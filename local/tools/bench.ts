import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { BUDGET_MODES, type BudgetMode, benchBurst, benchContention } from './bench/budget.ts';
import { benchCallsPerLead } from './bench/calls-per-lead.ts';
import { benchColdStart } from './bench/cold-start.ts';
import { benchIngest } from './bench/ingest.ts';
import type { BenchSection } from './bench/stats.ts';
import { benchSweep } from './bench/sweep.ts';

/**
 * `npm run bench [-- --runs N --only cold-start,calls,sweep,ingest,burst,contention --out DIR
 * --leads N --budgets static,shared --baseline DIR]`: every figure docs/performance.md quotes, each the median of
 * several runs with its spread, written to bench/results.md and bench/results.json (or DIR) with the
 * machine they ran on. Loopback only. Without --runs: 5 runs each, 9 for cold start, 3 for the sweep.
 * The burst and contention run once per budget mode: 500 leads, or 20 under `--runs 1` (CI's smoke
 * run) unless --leads says otherwise.
 */
const projectRoot = new URL('../..', import.meta.url).pathname;
const argument = (name: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const usage = (message: string): never => {
  console.error(
    `${message}\nUsage: npm run bench [-- --runs N --only cold-start,calls,sweep,ingest,burst,contention --out DIR --leads N --budgets static,shared --baseline DIR]`,
  );
  process.exit(2);
};
const runsGiven = argument('runs');
const runs = Number(runsGiven ?? 5);
if (!Number.isInteger(runs) || runs < 1) usage('--runs must be a whole number ≥ 1');
const only = argument('only')?.split(',');
const out = argument('out') ?? join(projectRoot, 'bench');
const leads = Number(argument('leads') ?? (runs === 1 ? 20 : 500));
if (!Number.isInteger(leads) || leads < 1 || leads > 10_000)
  usage('--leads must be a whole number from 1 to 10000');
const budgets = (argument('budgets')?.split(',') ?? [...BUDGET_MODES]) as BudgetMode[];
if (budgets.some((b) => !BUDGET_MODES.includes(b))) usage(`--budgets takes ${BUDGET_MODES.join(',')}`);

const benches: Record<string, () => Promise<BenchSection>> = {
  'cold-start': () => benchColdStart(projectRoot, runsGiven ? runs : 9, { baseline: argument('baseline') }),
  calls: () => benchCallsPerLead(runs),
  sweep: () => benchSweep(runsGiven ? runs : 3),
  ingest: () => benchIngest(runs),
  burst: () => benchBurst(leads, budgets),
  contention: () => benchContention(leads, budgets),
};
/** Each benchmark's key in results.json and the start of its heading in results.md. */
const SECTION_KEYS: Record<string, string> = {
  'cold-start': 'coldStart',
  calls: 'callsPerLead',
  sweep: 'sweep',
  ingest: 'ingest',
  burst: 'burst',
  contention: 'contention',
};
const SECTION_HEADINGS: Record<string, string> = {
  coldStart: 'Cold start',
  callsPerLead: 'Salescaling calls per lead',
  sweep: 'Stale-deal sweep',
  ingest: 'Ingest',
  burst: 'Burst of',
  contention: 'The same burst',
};
const unknown = only?.filter((name) => !(name in benches)) ?? [];
if (unknown.length > 0)
  usage(`Unknown bench ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
const date = new Date().toISOString();
const sections: BenchSection[] = [];
for (const [name, bench] of Object.entries(benches)) {
  if (only && !only.includes(name)) continue;
  console.info(`bench: ${name}…`);
  const section = await bench();
  console.info(section.markdown.join('\n'));
  sections.push(section);
}

// With --only, the sections not run are kept from the files already there, each with the date and
// machine it was measured on, so one benchmark can be re-run without losing the others.
const previous = only ? readPrevious(out) : undefined;
const kept = (previous?.sections ?? []).filter((p) => !sections.some((s) => s.key === p.key));
const results = {
  date,
  machine,
  runs,
  ...Object.fromEntries(kept.map((p) => [p.key, p.json])),
  ...Object.fromEntries(sections.map((s) => [s.key, { ...(s.json as object), date, machine }])),
};
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
const markdown = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${date.slice(0, 10)}. Machine: ${machine}. Each figure is the median of its runs, with the range (min–max) in brackets.${kept.length > 0 ? ` Kept from earlier runs: ${kept.map((p) => `${p.heading} (${p.measured})`).join('; ')}.` : ''}`,
  '',
  ...order([...kept, ...sections.map((s) => ({ key: s.key, markdown: s.markdown }))]).flatMap(
    (s) => s.markdown,
  ),
];
writeFileSync(join(out, 'results.md'), markdown.join('\n'));
process.exit(0);

/** The sections in the order `benches` lists them. */
function order<T extends { key: string }>(all: T[]): T[] {
  const keys = Object.values(SECTION_KEYS);
  return [...all].sort((a, b) => keys.indexOf(a.key) - keys.indexOf(b.key));
}

/** The sections of an earlier run in `dir`: each one's JSON, and its markdown (from its `## ` heading). */
function readPrevious(dir: string) {
  if (!existsSync(join(dir, 'results.json')) || !existsSync(join(dir, 'results.md'))) return undefined;
  const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<string, unknown>;
  const blocks = readFileSync(join(dir, 'results.md'), 'utf8')
    .split(/^(?=## )/m)
    .slice(1);
  return {
    sections: Object.values(SECTION_KEYS).flatMap((key) => {
      const data = json[key] as { date?: string; machine?: string } | undefined;
      const block = blocks.find((b) => b.startsWith(`## ${SECTION_HEADINGS[key]}`));
      if (!data || !block) return [];
      const heading = SECTION_HEADINGS[key] ?? key;
      const measured = `${(data.date ?? String(json.date)).slice(0, 10)}, ${data.machine ?? String(json.machine)}`;
      return [{ key, json: data, heading, measured, markdown: block.replace(/\n+$/, '\n').split('\n') }];
    }),
  };
}
