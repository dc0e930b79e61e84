import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildSync } from 'esbuild';
import { catalog } from '#functions/catalog.ts';
import { functionEnvironment, salescalingConcurrency } from '#functions/environment.ts';
import { loadStageConfig } from '#infra/config.ts';
import { SalescalingStack } from '#infra/salescaling-stack.ts';

/**
 * `npm run bench`: cold start of every function's bundle — the time for a fresh Node 24 process to
 * load it (with a valid environment, so it reaches the end of its module scope) — as a ratio to an
 * empty handler bundled the same way, and each bundle's size. Medians of several runs, with the
 * spread. Written to bench/results.md and bench/results.json.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const projectRoot = new URL('../..', import.meta.url).pathname;
const cdk = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8'));
const { stage, config } = loadStageConfig('dev', cdk.context.stages);

// Synthesize exactly what `cdk synth` bundles.
const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'bench-cdk-')) });
const stack = new SalescalingStack(app, 'Bench', {
  stage,
  config,
  declarations: catalog,
  projectRoot,
  env: { region: config.region },
});
app.synth();

// The empty handler, bundled with the house options.
const emptyDir = mkdtempSync(join(tmpdir(), 'bench-empty-'));
writeFileSync(join(emptyDir, 'handler.ts'), 'export const handler = async () => ({ statusCode: 200 });\n');
buildSync({
  entryPoints: [join(emptyDir, 'handler.ts')],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  outfile: join(emptyDir, 'index.mjs'),
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const timeLoad = (bundle: string, env: Record<string, string>) => {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const script = `const t = performance.now(); await import(${JSON.stringify(bundle)}); process.stdout.write(String(performance.now() - t)); process.exit(0);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    samples.push(Number(out.toString()));
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
};

const empty = timeLoad(join(emptyDir, 'index.mjs'), {});
const rows = [];
for (const declaration of catalog) {
  const fn = stack.functions.get(declaration.name);
  const assetPath = (fn?.node.tryFindChild('Code') as unknown as { assetPath?: string } | undefined)
    ?.assetPath;
  const dir = assetPath ? join(app.outdir, assetPath) : undefined;
  const bundle = dir ? join(dir, 'index.mjs') : undefined;
  if (!bundle) throw new Error(`No bundle for ${declaration.name}`);
  // A valid environment (AWS calls go to a closed local port), so the whole module scope runs.
  const env = {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    POWERTOOLS_TRACE_ENABLED: 'false',
    ...functionEnvironment(
      declaration,
      {
        stage: 'bench',
        salescalingInvocations: salescalingConcurrency(catalog),
        logLevel: 'ERROR',
        salescalingBaseUrl: 'http://127.0.0.1:9/api/v1/',
        salescalingMaxRps: 5,
        salescalingMaxConcurrency: 3,
      },
      {
        salescalingApiKey: 'bench',
        eventBus: 'bench',
        webhookSigningSecrets: 'bench',
        idempotencyTable: 'in-process',
        deadLetterQueue: 'http://127.0.0.1:9/000000000000/bench',
      },
      {
        allowedOrigins: '[]',
        thankYouUrl: 'https://example.com/thanks',
        leadFieldMapping: '{}',
        staleDealsConfig: '{"dryRun":true}',
      },
    ),
  };
  const load = timeLoad(bundle, env);
  const sizeKb = Math.round(statSync(bundle).size / 1024);
  rows.push({
    function: declaration.name,
    sizeKb,
    loadMs: load,
    ratio: Math.round((load.median / empty.median) * 10) / 10,
  });
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`;
const results = {
  date: new Date().toISOString(),
  machine,
  runs: RUNS,
  emptyHandler: { loadMs: empty, sizeKb: Math.round(statSync(join(emptyDir, 'index.mjs')).size / 1024) },
  functions: rows,
};
mkdirSync(join(projectRoot, 'bench'), { recursive: true });
writeFileSync(join(projectRoot, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
const fmt = (l: { median: number; min: number; max: number }) =>
  `${l.median.toFixed(1)} (${l.min.toFixed(1)}–${l.max.toFixed(1)})`;
const md = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${results.date.slice(0, 10)}; ${machine}; median of ${RUNS} runs (min–max).`,
  '',
  '## Cold start: loading each bundle in a fresh Node process',
  '',
  `Empty handler bundled the same way: ${fmt(empty)} ms, ${results.emptyHandler.sizeKb} KB.`,
  '',
  '| Function | Bundle (KB) | Load (ms) | × empty |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.function} | ${r.sizeKb} | ${fmt(r.loadMs)} | ${r.ratio} |`),
  '',
];
writeFileSync(join(projectRoot, 'bench/results.md'), md.join('\n'));
console.info(md.join('\n'));
