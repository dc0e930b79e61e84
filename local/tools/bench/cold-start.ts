import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { buildSync } from 'esbuild';
import { catalog } from '#functions/catalog.ts';
import type { FunctionDeclaration } from '#functions/declaration.ts';
import { functionEnvironment, salescalingConcurrency } from '#functions/environment.ts';
import { loadStageConfig } from '#infra/config.ts';
import {
  HOUSE,
  HOUSE_ENVIRONMENT,
  type HouseBundling,
  houseEsbuildOptions,
} from '#infra/constructs/house-function.ts';
import { SalescalingStack } from '#infra/salescaling-stack.ts';
import { startEmulator } from '#local/emulator/server.ts';
import { startAwsStandIn } from './aws-stand-in.ts';
import { firstEvent } from './first-events.ts';
import { type BenchSection, formatSpread, type Spread, spread } from './stats.ts';

/**
 * Cold start as a Lambda user feels it: the wall time from spawning a fresh Node process to the
 * answer of its first event. The process loads the function's bundle exactly as `cdk synth` builds
 * it, with its deployed environment (NODE_OPTIONS included) and Lambda's own variables, and answers
 * a representative event; its AWS calls go to a stand-in on loopback (Secrets Manager, EventBridge,
 * SQS; DynamoDB by dynalite), its Salescaling calls to the emulator. In the same run, interleaved,
 * references bundled the same way: an empty handler, the usual handler of Powertools' docs
 * (reference-handlers/typical.ts), and each function's SDK floor (reference-handlers/sdk-floor-*.ts:
 * its SDK clients alone, one request through each its first event calls). Goal: every function at
 * most GOAL × the usual handler, and as close to its SDK floor as the work allows.
 */
const GOAL_TYPICAL = 0.8;
const REFERENCES = ['empty', 'typical'] as const;
/**
 * Each function's SDK floor (a reference handler in reference-handlers/); a function with no SDK
 * client (api-health) has the empty handler as its floor.
 */
export const SDK_FLOORS: Record<string, string> = {
  'lead-ingest': 'sdk-floor-lead-ingest',
  'lead-sync': 'sdk-floor-with-queue',
  'stale-deals': 'sdk-floor-stale-deals',
  'integration-commands': 'sdk-floor-with-queue',
};
const FLOOR_CLIENTS: Record<string, string> = {
  'sdk-floor-lead-ingest': 'EventBridge, one request; Secrets Manager loaded, not called',
  'sdk-floor-stale-deals': 'DynamoDB, Secrets Manager, EventBridge, one request each',
  'sdk-floor-with-queue': 'DynamoDB, Secrets Manager, EventBridge, one request each; SQS built',
};
/** The variant name of a function bundled from the baseline checkout (`--baseline`). */
const BEFORE = 'before';
const API_KEY = `bench-${randomBytes(8).toString('hex')}`;
const SECRET_IDS = { salescalingApiKey: 'bench/salescaling-api-key', webhookSigningSecrets: 'bench/signing' };
const TABLES = { idempotency: 'bench-idempotency', sweepRuns: 'bench-sweep-runs', budget: 'bench-budget' };

interface Target {
  name: string;
  bundle: string;
  env: Record<string, string>;
  memoryMb: number;
  /** Measured like the target with these variables changed: what a setting costs (or saves). */
  variant?: string;
}

/**
 * The settings whose cost decides a default (docs/performance.md), each measured on every function
 * in the same rounds: detailed tracing (off by default) and source maps at run time (off by default).
 */
const VARIANTS: Record<string, Record<string, string>> = {
  'detailed tracing': { POWERTOOLS_TRACE_ENABLED: 'true' },
  'source maps': { NODE_OPTIONS: '--enable-source-maps' },
};

export interface ColdStartOptions {
  /**
   * Another checkout of the project (e.g. `git archive main | tar -x -C /tmp/base`, its node_modules
   * linked): its functions are synthesized by its own stack, so bundled as it bundles them, and
   * measured in the same rounds, as "before".
   */
  baseline?: string | undefined;
}

export async function benchColdStart(
  projectRoot: string,
  runs: number,
  options: ColdStartOptions = {},
): Promise<BenchSection> {
  const work = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
  const emulator = await startEmulator({ apiKeys: [API_KEY], seed: { opportunities: 40 } });
  const aws = await startAwsStandIn({
    secrets: {
      [SECRET_IDS.salescalingApiKey]: API_KEY,
      [SECRET_IDS.webhookSigningSecrets]: JSON.stringify({ typeform: 'bench-signing-secret' }),
    },
    tables: { [TABLES.idempotency]: 'id', [TABLES.sweepRuns]: 'runId', [TABLES.budget]: 'id' },
  });
  try {
    const cdk = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8'));
    const { stage, config } = loadStageConfig('dev', cdk.context.stages);
    /** Each function's bundle as `cdk synth` builds it from that checkout. */
    const synthesize = (
      root: string,
      outdir: string,
      code: StackCode = { App, SalescalingStack, catalog, bundling: HOUSE },
    ) => {
      const app = new code.App({ outdir });
      const stack = new code.SalescalingStack(app, 'Bench', {
        stage,
        config,
        declarations: code.catalog,
        projectRoot: root,
        env: { region: config.region },
      });
      app.synth();
      return new Map(
        code.catalog.map((declaration) => {
          const fn = stack.functions.get(declaration.name);
          const assetPath = (fn?.node.tryFindChild('Code') as { assetPath?: string } | undefined)?.assetPath;
          if (!assetPath) throw new Error(`No bundle for ${declaration.name}`);
          return [declaration.name, join(outdir, assetPath, 'index.mjs')];
        }),
      );
    };
    const bundles = synthesize(projectRoot, join(work, 'cdk.out'));
    const baseline = options.baseline ? await baselineCode(options.baseline) : undefined;
    const baselineBundles =
      options.baseline && baseline
        ? synthesize(options.baseline, join(work, 'cdk.out.baseline'), baseline)
        : undefined;

    const lambda = (name: string, bundle: string, memoryMb: number) => ({
      ...HOUSE_ENVIRONMENT,
      ...lambdaEnvironment(name, dirname(bundle), memoryMb),
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoDbEndpoint,
    });
    const floorNames = [...new Set(Object.values(SDK_FLOORS))];
    /** A reference handler, bundled as this checkout bundles (or, given, as the baseline does). */
    const referenceTarget = (name: string, bundling: HouseBundling = HOUSE, root = projectRoot): Target => {
      const bundle = join(work, root === projectRoot ? name : `${name}.baseline`, 'index.mjs');
      buildSync({
        ...houseEsbuildOptions(root, bundling),
        entryPoints: [join(projectRoot, 'local/tools/bench/reference-handlers', `${name}.ts`)],
        outfile: bundle,
      });
      const env = {
        ...lambda(name, bundle, 512),
        POWERTOOLS_SERVICE_NAME: 'reference',
        POWERTOOLS_LOG_LEVEL: config.logLevel,
        EVENT_BUS_NAME: 'bench',
        FLOOR_SECRET_ID: SECRET_IDS.salescalingApiKey,
        FLOOR_TABLE: TABLES.idempotency,
      };
      return { name, bundle, env, memoryMb: 512 };
    };
    const targets: Target[] = [...REFERENCES, ...floorNames].map((name) => referenceTarget(name));
    const functionTarget = (declaration: FunctionDeclaration, bundle: string): Target => ({
      name: declaration.name,
      bundle,
      env: {
        ...lambda(declaration.name, bundle, declaration.memoryMb),
        ...deployedEnvironment(declaration, config.logLevel, emulator.apiBaseUrl, aws.endpoint),
      },
      memoryMb: declaration.memoryMb,
    });
    for (const declaration of catalog)
      targets.push(functionTarget(declaration, bundles.get(declaration.name) ?? ''));
    const variants = targets
      .filter((t) => catalog.some((d) => d.name === t.name))
      .flatMap((t) =>
        Object.entries(VARIANTS).map(([variant, env]) => ({ ...t, variant, env: { ...t.env, ...env } })),
      );
    if (baselineBundles && baseline && options.baseline) {
      for (const declaration of catalog)
        variants.push({
          ...functionTarget(declaration, baselineBundles.get(declaration.name) ?? ''),
          variant: BEFORE,
        });
      // The usual handler bundled as the baseline bundles: a "before" ratio is against it, so a
      // change to the house bundling, which the usual handler gets too, is not counted as a gain.
      variants.push({ ...referenceTarget('typical', baseline.bundling, options.baseline), variant: BEFORE });
    }

    // Interleaved (every target once per round), so a busy moment of the machine hits all alike.
    const samples = new Map([...targets, ...variants].map((t) => [key(t), [] as Sample[]]));
    for (let run = 0; run < runs; run++) {
      for (const target of [...targets, ...variants]) {
        const callsBefore = new Map(aws.calls);
        const sample = await coldStart(target, run);
        // The AWS requests this process made (first and warm event): one process at a time.
        sample.requests = Object.fromEntries(
          [...aws.calls]
            .map(([op, n]) => [op, n - (callsBefore.get(op) ?? 0)] as const)
            .filter(([, n]) => n > 0),
        );
        samples.get(key(target))?.push(sample);
      }
    }
    assertFloorsAreLowerBounds(samples);
    const measured = targets.map((t) => summarize(t, samples.get(key(t)) ?? []));
    const [empty, typical] = measured as [Measured, Measured];
    const floors = new Map(
      measured.slice(REFERENCES.length, REFERENCES.length + floorNames.length).map((m) => [m.function, m]),
    );
    const functions = measured.slice(REFERENCES.length + floorNames.length);
    const floorOf = (f: Measured) => floors.get(SDK_FLOORS[f.function] ?? '') ?? empty;
    /** What each variant adds to a function's cold start: medians against medians, same rounds. */
    const costs = (f: Measured) =>
      Object.fromEntries(
        Object.keys(VARIANTS).map((variant) => {
          const runsWith = samples.get(`${f.function} + ${variant}`) ?? [];
          return [
            variant,
            {
              wallMs: Math.round(spread(runsWith.map((s) => s.wallMs)).median - f.wallMs.median),
              cpuMs: Math.round(spread(runsWith.map((s) => s.cpuMs)).median - f.cpuMs.median),
            },
          ];
        }),
      );
    /** The baseline's bundle of the same function, measured in the same rounds. */
    const before = (f: Measured) => {
      const typicalBefore = samples.get(`typical + ${BEFORE}`) ?? [];
      const typicalBeforeWall = spread(typicalBefore.map((s) => s.wallMs));
      const typicalBeforeCpu = spread(typicalBefore.map((s) => s.cpuMs));
      const runsBefore = samples.get(`${f.function} + ${BEFORE}`) ?? [];
      const wallMs = spread(runsBefore.map((s) => s.wallMs));
      const cpuMs = spread(runsBefore.map((s) => s.cpuMs));
      const cpuLoadedMs = spread(runsBefore.map((s) => s.cpuLoadedMs));
      return {
        wallMs,
        cpuMs,
        cpuLoadedMs,
        xTypical: ratio(wallMs.median, typicalBeforeWall.median),
        cpuXTypical: ratio(cpuMs.median, typicalBeforeCpu.median),
      };
    };
    const rows = functions.map((f) => ({
      ...f,
      xEmpty: ratio(f.wallMs.median, empty.wallMs.median),
      xTypical: ratio(f.wallMs.median, typical.wallMs.median),
      cpuXTypical: ratio(f.cpuMs.median, typical.cpuMs.median),
      sdkFloor: floorOf(f).function,
      requests: samples.get(f.function)?.[0]?.requests ?? {},
      cpuXFloor: ratio(f.cpuMs.median, floorOf(f).cpuMs.median),
      adds: costs(f),
      before: baselineBundles ? before(f) : undefined,
      largestParts: largestParts(catalog.find((d) => d.name === f.function)?.entry ?? '', projectRoot).slice(
        0,
        5,
      ),
    }));
    const met = rows.filter((r) => r.xTypical <= GOAL_TYPICAL).length;
    const compared = rows.filter((r) => r.before !== undefined);
    const metCpu = rows.filter((r) => r.cpuXTypical <= GOAL_TYPICAL).length;
    const floorRows = [...floors.values()].map((f) => ({
      ...f,
      clients: FLOOR_CLIENTS[f.function] ?? '',
      requests: samples.get(f.function)?.[0]?.requests ?? {},
      xEmpty: ratio(f.wallMs.median, empty.wallMs.median),
      xTypical: ratio(f.wallMs.median, typical.wallMs.median),
      cpuXTypical: ratio(f.cpuMs.median, typical.cpuMs.median),
    }));
    const line = (
      r: Measured & {
        xEmpty?: number;
        xTypical?: number;
        cpuXTypical?: number;
        cpuXFloor?: number;
        adds?: Record<string, { wallMs: number; cpuMs: number }>;
        largestParts?: Part[];
      },
    ) =>
      `| ${r.function} | ${r.sizeKb} | ${formatSpread(r.wallMs)} | ${r.loadedMs.median.toFixed(0)} | ${r.firstEventMs.median.toFixed(0)} | ${r.warmMs.median.toFixed(0)} | ${r.cpuMs.median.toFixed(0)} (${r.cpuLoadedMs.median.toFixed(0)}) | ${r.xEmpty?.toFixed(2) ?? '1.00'} | ${r.xTypical?.toFixed(2) ?? '—'} | ${r.cpuXTypical?.toFixed(2) ?? '—'} | ${r.cpuXFloor?.toFixed(2) ?? '—'} | ${Object.keys(
        VARIANTS,
      )
        .map((v) => (r.adds?.[v] ? `${signed(r.adds[v].wallMs)} (CPU ${signed(r.adds[v].cpuMs)})` : '—'))
        .join(' | ')} | ${r.largestParts?.map((p) => `${p.part} ${p.kb}`).join(', ') ?? ''} |`;
    return {
      key: 'coldStart',
      json: {
        goal: { xTypical: GOAL_TYPICAL },
        nodeOptions: HOUSE_ENVIRONMENT.NODE_OPTIONS ?? '',
        emptyHandler: empty,
        typicalHandler: { ...typical, xEmpty: ratio(typical.wallMs.median, empty.wallMs.median) },
        sdkFloors: floorRows,
        functions: rows,
      },
      markdown: [
        '## Cold start: a fresh process to the answer of its first event',
        '',
        `Wall time from spawning a fresh Node process to the answer of its first event: the process loads the bundle exactly as \`cdk synth\` builds it, with the deployed environment (\`NODE_OPTIONS=${HOUSE_ENVIRONMENT.NODE_OPTIONS || '(none)'}\`) and Lambda's variables, and answers a representative event; AWS calls go to a stand-in on loopback (Secrets Manager, EventBridge, SQS, and DynamoDB by dynalite), Salescaling calls to the emulator. References, bundled the same way and measured in the same rounds: an empty handler, the usual handler of Powertools' docs (Logger, Tracer and Metrics through middy, a zod parse, one EventBridge PutEvents; \`local/tools/bench/reference-handlers/typical.ts\`), and each function's SDK floor: its AWS SDK clients alone, built at module scope, one request through each client its first event calls, nothing else (\`reference-handlers/sdk-floor-*.ts\`; api-health's floor is the empty handler; the run fails if a floor makes a request its function's first event does not). Goal: at most ${GOAL_TYPICAL}× the usual handler; ${met} of ${rows.length} functions meet it (${metCpu} by CPU time).`,
        '',
        `| Handler | Bundle (KB) | Cold start (ms) | of which loaded (ms) | first event (ms) | warm event (ms) | CPU (ms; of which loaded) | × empty | × usual handler | CPU × usual handler | CPU × its SDK floor | ${Object.keys(
          VARIANTS,
        )
          .map((v) => `with ${v} (ms)`)
          .join(' | ')} | Largest parts (KB) |`,
        `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ${Object.keys(VARIANTS)
          .map(() => '---: | ')
          .join('')}--- |`,
        line({ ...empty, function: 'empty handler (reference)' }),
        line({
          ...typical,
          function: 'usual handler (reference)',
          xEmpty: ratio(typical.wallMs.median, empty.wallMs.median),
          xTypical: 1,
          cpuXTypical: 1,
        }),
        ...floorRows.map((f) => line({ ...f, function: `${f.function} (reference: ${f.clients})` })),
        ...rows.map(line),
        '',
        ...(compared.length > 0
          ? [
              `Before and after, in the same rounds (before: the bundles of \`${options.baseline}\`; medians):`,
              '',
              '| Function | Cold start before → after (ms) | × usual before → after | CPU before → after (ms) | of which loaded (ms) | CPU × usual before → after |',
              '| --- | ---: | ---: | ---: | ---: | ---: |',
              ...compared.map(
                (r) =>
                  `| ${r.function} | ${r.before?.wallMs.median.toFixed(0)} → ${r.wallMs.median.toFixed(0)} | ${r.before?.xTypical.toFixed(2)} → ${r.xTypical.toFixed(2)} | ${r.before?.cpuMs.median.toFixed(0)} → ${r.cpuMs.median.toFixed(0)} | ${r.before?.cpuLoadedMs.median.toFixed(0)} → ${r.cpuLoadedMs.median.toFixed(0)} | ${r.before?.cpuXTypical.toFixed(2)} → ${r.cpuXTypical.toFixed(2)} |`,
              ),
              '',
            ]
          : []),
        "Loaded: from the process's start to its handler imported (Node's start-up, the bundle's module scope); first event: the handler's first answer after that (the spawn itself is in the cold start, in neither); warm event: a second event of the same kind in the same process, i.e. what the work takes once nothing is cold (its Salescaling and AWS round trips among it). CPU: the process's user and system time to its answer, all threads (in brackets: to its handler imported); steadier than wall time on a busy machine. With …: the function's cold start with that setting switched on, less its cold start as deployed (medians of the same rounds; wall time, and CPU time in brackets).",
        '',
      ],
    };
  } finally {
    await Promise.all([emulator.close(), aws.close()]);
    // Profiles point into the bundles (and their source maps): kept with them.
    if (!process.env.BENCH_CPU_PROF) rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A floor is a lower bound only if its function makes every request it makes: each function's
 * requests (over all its rounds, as deployed) must include each of its floor's. Otherwise the run is
 * an error, not a flattering figure.
 */
export function assertFloorsAreLowerBounds(
  samples: ReadonlyMap<string, readonly { requests?: Record<string, number> }[]>,
) {
  const made = (name: string) =>
    new Set((samples.get(name) ?? []).flatMap((s) => Object.keys(s.requests ?? {})));
  for (const [fn, floor] of Object.entries(SDK_FLOORS)) {
    const missing = [...made(floor)].filter((op) => !made(fn).has(op));
    if (missing.length > 0)
      throw new Error(
        `The SDK floor ${floor} makes ${missing.join(', ')}, which ${fn}'s first event does not: it is no lower bound for it (local/tools/bench/reference-handlers/)`,
      );
  }
}

/** What synthesizes a checkout's functions: its own CDK app, stack and catalog. */
interface StackCode {
  App: typeof App;
  SalescalingStack: typeof SalescalingStack;
  catalog: readonly FunctionDeclaration[];
  bundling: HouseBundling;
}

/**
 * The baseline's own stack and catalog (and the aws-cdk-lib its package resolves), so its functions
 * are bundled as that checkout bundles them (its HOUSE_BUNDLING included), not as this one does.
 */
async function baselineCode(root: string): Promise<StackCode> {
  const resolve = createRequire(join(root, 'package.json')).resolve;
  const [cdk, stack, functions, house] = await Promise.all([
    import(pathToFileURL(resolve('aws-cdk-lib')).href),
    import(pathToFileURL(join(root, 'infra/salescaling-stack.ts')).href),
    import(pathToFileURL(join(root, 'functions/catalog.ts')).href),
    import(pathToFileURL(join(root, 'infra/constructs/house-function.ts')).href),
  ]);
  return {
    App: cdk.App,
    SalescalingStack: stack.SalescalingStack,
    catalog: functions.catalog,
    bundling: { options: house.HOUSE_BUNDLING, aliases: house.HOUSE_ALIASES },
  };
}

const key = (t: Target) => `${t.name}${t.variant ? ` + ${t.variant}` : ''}`;

interface Sample {
  /** AWS requests by `X-Amz-Target`, first and warm event together (set by the rounds' loop). */
  requests?: Record<string, number>;
  wallMs: number;
  loadedMs: number;
  answeredMs: number;
  cpuMs: number;
  /** CPU time until the handler was imported (Node's start-up and the module scope). */
  cpuLoadedMs: number;
  warmMs: number;
}
interface Measured {
  function: string;
  sizeKb: number;
  wallMs: Spread;
  loadedMs: Spread;
  firstEventMs: Spread;
  cpuMs: Spread;
  cpuLoadedMs: Spread;
  warmMs: Spread;
}
interface Part {
  part: string;
  kb: number;
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const signed = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : '0');

function summarize(target: Target, samples: readonly Sample[]): Measured {
  return {
    function: target.name,
    sizeKb: Math.round(statSync(target.bundle).size / 1024),
    wallMs: spread(samples.map((s) => s.wallMs)),
    loadedMs: spread(samples.map((s) => s.loadedMs)),
    firstEventMs: spread(samples.map((s) => s.answeredMs - s.loadedMs)),
    cpuMs: spread(samples.map((s) => s.cpuMs)),
    cpuLoadedMs: spread(samples.map((s) => s.cpuLoadedMs)),
    warmMs: spread(samples.map((s) => s.warmMs)),
  };
}

/**
 * What the child runs: import the bundle, invoke the handler once with a Lambda-like context, write
 * the answer and its own clock (milliseconds since the process started) to fd 3, exit. Logs go to
 * stdout as in Lambda (discarded here, but written).
 */
const CHILD = `
import { writeSync } from 'node:fs';
const [bundle, eventJson, warmEventJson, name, memory] = process.argv.slice(1);
const { handler } = await import(bundle);
const loaded = performance.now();
const cpuAtLoad = process.cpuUsage();
const deadline = Date.now() + 900_000;
const context = {
  functionName: name, functionVersion: '$LATEST', memoryLimitInMB: memory,
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:' + name,
  awsRequestId: crypto.randomUUID(), logGroupName: '/aws/lambda/' + name, logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => deadline - Date.now(),
  done() {}, fail() {}, succeed() {},
};
const invoke = async (json) => {
  try {
    return JSON.parse(JSON.stringify((await handler(JSON.parse(json), { ...context, awsRequestId: crypto.randomUUID() })) ?? null));
  } catch (error) {
    return { error: String(error) };
  }
};
const response = await invoke(eventJson);
const answered = performance.now();
const cpu = process.cpuUsage();
writeSync(3, JSON.stringify({ loaded, answered, cpuMs: (cpu.user + cpu.system) / 1000, cpuLoadedMs: (cpuAtLoad.user + cpuAtLoad.system) / 1000, response }));
// The same kind of event again, warm: what the work itself takes once nothing is cold.
const warmStarted = performance.now();
const warmResponse = await invoke(warmEventJson);
writeSync(4, JSON.stringify({ warmMs: performance.now() - warmStarted, response: warmResponse }));
process.exit(0);
`;

/** One cold start: spawn, first answer, checked. */
function coldStart(target: Target, run: number): Promise<Sample> {
  const { event, succeeded } = firstEvent(target.name, `${run}`);
  const warm = firstEvent(target.name, `${run}-warm`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        // BENCH_CPU_PROF=DIR: a V8 CPU profile of every cold start, per target, to see where it goes.
        ...(process.env.BENCH_CPU_PROF
          ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROF, key(target))}`]
          : []),
        '--input-type=module',
        '-e',
        CHILD,
        pathToFileURL(target.bundle).href,
        JSON.stringify(event),
        JSON.stringify(warm.event),
        target.name,
        String(target.memoryMb),
      ],
      {
        env: { PATH: process.env.PATH ?? '', ...target.env },
        stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      },
    );
    let answeredAt = 0;
    let result = '';
    let errors = '';
    const answer = child.stdio[3] as Readable;
    answer.on('data', (chunk: Buffer) => {
      answeredAt ||= performance.now();
      result += chunk.toString();
    });
    let warmResult = '';
    (child.stdio[4] as Readable).on('data', (chunk: Buffer) => {
      warmResult += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString().slice(0, 4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const parsed = result
        ? (JSON.parse(result) as {
            loaded: number;
            answered: number;
            cpuMs: number;
            cpuLoadedMs: number;
            response: unknown;
          })
        : undefined;
      const warmParsed = warmResult
        ? (JSON.parse(warmResult) as { warmMs: number; response: unknown })
        : undefined;
      if (
        code !== 0 ||
        !parsed ||
        !succeeded(parsed.response) ||
        !warmParsed ||
        !warm.succeeded(warmParsed.response)
      ) {
        reject(
          new Error(
            `${target.name}${target.variant ? ` + ${target.variant}` : ''}: its first or second event did not succeed (exit ${code}): ${JSON.stringify(parsed?.response)?.slice(0, 1000)} ${JSON.stringify(warmParsed?.response)?.slice(0, 1000)}\n${errors}`,
          ),
        );
        return;
      }
      resolve({
        wallMs: answeredAt - started,
        loadedMs: parsed.loaded,
        answeredMs: parsed.answered,
        cpuMs: parsed.cpuMs,
        cpuLoadedMs: parsed.cpuLoadedMs,
        warmMs: warmParsed.warmMs,
      });
    });
  });
}

/** The variables Lambda sets in every execution environment (with active tracing). */
function lambdaEnvironment(name: string, taskRoot: string, memoryMb: number): Record<string, string> {
  const traceRoot = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  return {
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    AWS_LAMBDA_LOG_FORMAT: 'JSON',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: taskRoot,
    _HANDLER: 'index.handler',
    // Nothing listens there: the X-Ray SDK's UDP datagrams are sent and lost, as a daemon would take them.
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    _X_AMZN_TRACE_ID: `Root=${traceRoot};Parent=${randomBytes(8).toString('hex')};Sampled=1`,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
  };
}

/** The function's environment as the stack sets it, its resources pointed at the stand-ins. */
function deployedEnvironment(
  declaration: FunctionDeclaration,
  logLevel: string,
  salescalingBaseUrl: string,
  awsEndpoint: string,
) {
  return functionEnvironment(
    declaration,
    {
      stage: 'bench',
      salescalingInvocations: salescalingConcurrency(catalog),
      logLevel,
      salescalingBaseUrl,
      // A budget no first event reaches: the limiter's spacing is the Salescaling budget, not cold start.
      salescalingMaxRps: 100_000,
      salescalingMaxConcurrency: 3,
      idempotencyExpirySeconds: 3600,
    },
    {
      salescalingApiKey: SECRET_IDS.salescalingApiKey,
      eventBus: 'bench',
      webhookSigningSecrets: SECRET_IDS.webhookSigningSecrets,
      idempotencyTable: TABLES.idempotency,
      sweepRunsTable: TABLES.sweepRuns,
      budgetTable: TABLES.budget,
      deadLetterQueue: `${awsEndpoint}/000000000000/bench-dead-letters`,
    },
    {
      allowedOrigins: '[]',
      thankYouUrl: 'https://example.com/thanks',
      leadFieldMapping: '{}',
      staleDealsConfig: '{"dryRun":true}',
      opportunityStatuses: '{}',
      commandsConfig: '{}',
    },
    `${awsEndpoint}/000000000000/bench-source`,
  );
}

/** The bundle's largest parts by package (own code as "project code"), from esbuild's metafile. */
function largestParts(entry: string, projectRoot: string): Part[] {
  const result = buildSync({
    ...houseEsbuildOptions(projectRoot),
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
