import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchCallsPerLead } from './bench/calls-per-lead.ts';
import { benchColdStart } from './bench/cold-start.ts';
import { benchIngest } from './bench/ingest.ts';
import type { BenchSection } from './bench/stats.ts';
import { benchSweep } from './bench/sweep.ts';

/**
 * `npm run bench [-- --runs N --only cold-start,calls,sweep,ingest --out DIR]`: every figure
 * docs/performance.md quotes, each the median of several runs with its spread, written to
 * bench/results.md and bench/results.json (or DIR) with the machine they ran on. Loopback only.
 * Without --runs: 5 runs each, 9 for cold start, 3 for the sweep.
 */
const projectRoot = new URL('../..', import.meta.url).pathname;
const argument = (name: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const usage = (message: string): never => {
  console.error(
    `${message}\nUsage: npm run bench [-- --runs N --only cold-start,calls,sweep,ingest --out DIR]`,
  );
  process.exit(2);
};
const runsGiven = argument('runs');
const runs = Number(runsGiven ?? 5);
if (!Number.isInteger(runs) || runs < 1) usage('--runs must be a whole number ≥ 1');
const only = argument('only')?.split(',');
const out = argument('out') ?? join(projectRoot, 'bench');

const benches: Record<string, () => Promise<BenchSection>> = {
  'cold-start': () => benchColdStart(projectRoot, runsGiven ? runs : 9),
  calls: () => benchCallsPerLead(runs),
  sweep: () => benchSweep(runsGiven ? runs : 3),
  ingest: () => benchIngest(runs),
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

const results = { date, machine, runs, ...Object.fromEntries(sections.map((s) => [s.key, s.json])) };
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
const markdown = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${date.slice(0, 10)}. Machine: ${machine}. Each figure is the median of its runs, with the range (min–max) in brackets.`,
  '',
  ...sections.flatMap((s) => s.markdown),
];
writeFileSync(join(out, 'results.md'), markdown.join('\n'));
process.exit(0);
