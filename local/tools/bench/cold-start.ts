import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { buildSync } from 'esbuild';
import { catalog } from '#functions/catalog.ts';
import { functionEnvironment, salescalingConcurrency } from '#functions/environment.ts';
import { loadStageConfig } from '#infra/config.ts';
import { HOUSE_BUNDLING, HOUSE_ENVIRONMENT } from '#infra/constructs/house-function.ts';
import { SalescalingStack } from '#infra/salescaling-stack.ts';
import { type BenchSection, formatSpread, type Spread, spread } from './stats.ts';

/**
 * Cold start: the time for a fresh Node process to load each function's bundle exactly as
 * `cdk synth` builds it, with the function's deployed NODE_OPTIONS and a valid environment (AWS
 * calls go to a closed local port), so its whole module scope runs — against an empty handler
 * bundled the same way; then what the time is made of: the Node built-in modules the load pulls in,
 * the source maps, and the largest packages in the bundle.
 */
const BUDGET_RATIO = 1.5;
const BUDGET_KB = 500;

export async function benchColdStart(projectRoot: string, runs: number): Promise<BenchSection> {
  const work = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
  try {
    const cdk = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8'));
    const { stage, config } = loadStageConfig('dev', cdk.context.stages);
    const app = new App({ outdir: join(work, 'cdk.out') });
    const stack = new SalescalingStack(app, 'Bench', {
      stage,
      config,
      declarations: catalog,
      projectRoot,
      env: { region: config.region },
    });
    app.synth();

    // The empty handler, bundled with the house options (banner and source map included).
    const emptyDir = join(work, 'empty');
    const emptyEntry = join(work, 'empty-handler.ts');
    writeFileSync(emptyEntry, 'export const handler = async () => ({ statusCode: 200 });\n');
    buildSync({ ...esbuildOptions(), entryPoints: [emptyEntry], outfile: join(emptyDir, 'index.mjs') });
    const empty = timeLoads(join(emptyDir, 'index.mjs'), HOUSE_ENVIRONMENT, runs);
    const rows = [];
    for (const declaration of catalog) {
      const fn = stack.functions.get(declaration.name);
      const assetPath = (fn?.node.tryFindChild('Code') as { assetPath?: string } | undefined)?.assetPath;
      if (!assetPath) throw new Error(`No bundle for ${declaration.name}`);
      const bundle = join(app.outdir, assetPath, 'index.mjs');
      const env = {
        ...HOUSE_ENVIRONMENT,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
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
            sweepRunsTable: 'bench-sweep-runs',
            deadLetterQueue: 'http://127.0.0.1:9/000000000000/bench',
          },
          {
            allowedOrigins: '[]',
            thankYouUrl: 'https://example.com/thanks',
            leadFieldMapping: '{}',
            staleDealsConfig: '{"dryRun":true}',
            opportunityStatuses: '{}',
          },
          'http://127.0.0.1:9/000000000000/bench-source',
        ),
      };
      const { builtins, ...load } = timeLoads(bundle, env, runs);
      const withoutSourceMaps = timeLoads(bundle, { ...env, NODE_OPTIONS: '' }, runs);
      rows.push({
        function: declaration.name,
        sizeKb: Math.round(statSync(bundle).size / 1024),
        loadMs: load,
        ratio: Math.round((load.median / empty.median) * 10) / 10,
        builtins: { modules: builtins.length, loadMs: timeBuiltins(builtins, runs) },
        sourceMapsMs: Math.max(0, load.median - withoutSourceMaps.median),
        largestParts: largestParts(declaration.entry, projectRoot).slice(0, 6),
      });
    }

    const emptyKb = Math.round(statSync(join(emptyDir, 'index.mjs')).size / 102.4) / 10;
    const met = rows.filter((r) => r.ratio <= BUDGET_RATIO && r.sizeKb < BUDGET_KB).length;
    return {
      key: 'coldStart',
      json: {
        budget: { ratio: BUDGET_RATIO, sizeKb: BUDGET_KB },
        emptyHandler: { loadMs: empty, sizeKb: emptyKb },
        functions: rows,
      },
      markdown: [
        '## Cold start: loading each bundle in a fresh Node process',
        '',
        `Each function's bundle exactly as \`cdk synth\` builds it, loaded with its deployed \`NODE_OPTIONS\` and a valid environment, so the whole module scope runs. Empty handler bundled the same way: ${formatSpread(empty)} ms, ${emptyKb} KB. Budget: within ${BUDGET_RATIO}× of it and under ${BUDGET_KB} KB; ${met} of ${rows.length} functions meet both.`,
        '',
        '| Function | Bundle (KB) | Load (ms) | × empty | of which Node built-ins (ms) | of which source maps (ms) | Largest parts (KB) |',
        '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
        ...rows.map(
          (r) =>
            `| ${r.function} | ${r.sizeKb} | ${formatSpread(r.loadMs)} | ${r.ratio} | ${r.builtins.loadMs.median.toFixed(1)} (${r.builtins.modules} modules) | ${r.sourceMapsMs.toFixed(1)} | ${r.largestParts.map((p) => `${p.part} ${p.kb}`).join(', ')} |`,
        ),
        '',
        "Built-ins: the time a fresh process takes to load only the Node modules that the bundle loads (http, https, http2, tls, zlib, crypto, …, pulled in by the AWS SDK and the X-Ray SDK). Source maps: the load time minus the load time without `--enable-source-maps`. The rest is compiling and running the bundle's own module scope.",
        '',
      ],
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Load times over `runs` fresh processes, and the Node built-in modules the load brought in. */
function timeLoads(bundle: string, env: Record<string, string>, runs: number) {
  const samples: number[] = [];
  let builtins: string[] = [];
  for (let i = 0; i < runs; i++) {
    const script = `const before = new Set(process.moduleLoadList); const t = performance.now(); await import(${JSON.stringify(pathToFileURL(bundle).href)}); const ms = performance.now() - t; const builtins = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice(13)); process.stdout.write(JSON.stringify({ ms, builtins })); process.exit(0);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const result = JSON.parse(out.toString()) as { ms: number; builtins: string[] };
    samples.push(result.ms);
    builtins = result.builtins;
  }
  return { ...spread(samples), builtins };
}

/** What loading only those built-in modules costs a fresh process. */
function timeBuiltins(builtins: string[], runs: number): Spread {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const script = `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); const t = performance.now(); for (const m of ${JSON.stringify(builtins)}) require(m); process.stdout.write(String(performance.now() - t)); process.exit(0);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    samples.push(Number(out.toString()));
  }
  return spread(samples);
}

/** The bundle's largest parts by package (own code as "project"), from esbuild's metafile. */
function largestParts(entry: string, projectRoot: string) {
  const result = buildSync({
    ...esbuildOptions(),
    entryPoints: [join(projectRoot, entry)],
    write: false,
    metafile: true,
    outdir: tmpdir(),
    sourcemap: false,
  });
  const output = Object.values(result.metafile.outputs)[0];
  const bytes = new Map<string, number>();
  for (const [file, input] of Object.entries(output?.inputs ?? {})) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? 'project code';
    bytes.set(name, (bytes.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...bytes.entries()]
    .map(([part, b]) => ({ part, kb: Math.round(b / 1024) }))
    .sort((a, b) => b.kb - a.kb);
}

/** esbuild options equivalent to the house bundling (see infra/constructs/house-function.ts). */
function esbuildOptions() {
  return {
    bundle: true,
    platform: 'node' as const,
    minify: HOUSE_BUNDLING.minify,
    sourcemap: HOUSE_BUNDLING.sourceMap,
    sourcesContent: HOUSE_BUNDLING.sourcesContent,
    format: 'esm' as const,
    target: HOUSE_BUNDLING.target,
    mainFields: HOUSE_BUNDLING.mainFields,
    banner: { js: HOUSE_BUNDLING.banner },
    external: HOUSE_BUNDLING.externalModules,
  };
}
