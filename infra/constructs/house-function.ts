import { AssetStaging, Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionDeclaration } from '#functions/declaration.ts';

/**
 * Where `node:http` and `node:https` come from in a bundle. An ESM `import` of either makes Node
 * fill in the module's whole namespace, lazy getters included, and the `WebSocket` getter loads
 * undici (docs/performance.md). The SDK's HTTP handler and the Salescaling client import them that
 * way; these shims hand them the same module object through `process.getBuiltinModule` (which also
 * lets them see a patch of `http.request`, as detailed tracing applies). Paths are relative to the
 * project root, esbuild's working directory (see `workingDirectory` below for Docker).
 */
export const HOUSE_ALIASES: Record<string, string> = {
  'node:http': './infra/bundling/builtin-http.cjs',
  http: './infra/bundling/builtin-http.cjs',
  'node:https': './infra/bundling/builtin-https.cjs',
  https: './infra/bundling/builtin-https.cjs',
};

/** How every function is bundled (`npm run bench` builds its empty handler the same way). */
export const HOUSE_BUNDLING = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  format: OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  // ESM bundles of CommonJS dependencies still call require(); give them one.
  banner:
    "import { createRequire as __houseCreateRequire } from 'node:module'; const require = __houseCreateRequire(import.meta.url);",
  forceDockerBundling: false,
  // Only if CDK ever fell back to Docker: run esbuild in the mounted project, as locally, so the
  // aliases' relative paths resolve there too.
  workingDirectory: AssetStaging.BUNDLING_INPUT_DIR,
  // Bundle the AWS SDK too: functions run the version the lockfile pins and the tests ran,
  // not whichever one the Lambda runtime ships.
  externalModules: [],
  esbuildArgs: Object.fromEntries(Object.entries(HOUSE_ALIASES).map(([from, to]) => [`--alias:${from}`, to])),
} satisfies BundlingOptions;

/** A checkout's house bundling and aliases (an older checkout's may have no aliases). */
export interface HouseBundling {
  options: {
    minify?: boolean;
    sourceMap?: boolean;
    sourcesContent?: boolean;
    target?: string;
    mainFields?: string[];
    banner?: string;
    externalModules?: string[];
  };
  aliases?: Record<string, string> | undefined;
}

/** This checkout's house bundling. */
export const HOUSE: HouseBundling = { options: HOUSE_BUNDLING, aliases: HOUSE_ALIASES };

/**
 * A house bundling as esbuild's own options, for bundles built outside CDK (the cold-start
 * benchmark's references, the bundles test), run from `root` as CDK runs esbuild from the project
 * root (the aliases' paths are relative to it).
 */
export function houseEsbuildOptions(root: string, { options, aliases }: HouseBundling = HOUSE) {
  return {
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    minify: options.minify,
    sourcemap: options.sourceMap,
    sourcesContent: options.sourcesContent,
    target: options.target,
    mainFields: options.mainFields,
    banner: options.banner ? { js: options.banner } : undefined,
    external: options.externalModules,
    alias: aliases ?? {},
    absWorkingDir: root,
  };
}

/**
 * The environment every function starts with (`npm run bench` loads bundles with it too). No
 * `NODE_OPTIONS=--enable-source-maps`: it reads and parses the source map at every cold start (tens
 * of milliseconds, docs/performance.md). The map still ships beside the bundle (`sourceMap` above),
 * so a minified stack trace can be decoded with the deployed code, and setting that variable on a
 * function turns readable traces back on at its next cold start.
 */
export const HOUSE_ENVIRONMENT: Record<string, string> = {};

export interface HouseFunctionProps {
  declaration: FunctionDeclaration;
  projectRoot: string;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /** The stage's log level: Lambda's JSON log filter is set to it, so it never drops Powertools' lines. */
  logLevel: keyof typeof ApplicationLogLevel;
}

/**
 * Every house default in one place: Node 24 on arm64, esbuild bundling (local, no Docker) as
 * minified ESM with a source map beside it (not read at run time) and everything inside (the AWS SDK included), an explicit log group with retention, X-Ray tracing, and a role
 * of its own that starts with nothing but writing to that log group. Environment variables are
 * merged: setting one twice with another value is an error, never an overwrite.
 */
export class HouseFunction extends NodejsFunction {
  readonly declaration: FunctionDeclaration;
  /** The function's own log group (explicit, with retention). */
  readonly functionLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    const { declaration } = props;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${declaration.name} function`,
    });
    super(scope, id, {
      description: declaration.description,
      entry: `${props.projectRoot}/${declaration.entry}`,
      handler: declaration.handler,
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}/package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: declaration.memoryMb,
      timeout: Duration.seconds(declaration.timeoutSeconds),
      logGroup,
      // JSON: Lambda's own lines (START, REPORT, errors) are queryable beside Powertools' JSON.
      loggingFormat: LoggingFormat.JSON,
      // JSON format filters application logs at INFO unless told otherwise (Powertools' DEBUG lines
      // carry a "level" Lambda reads): the same level as the logger's, set from the stage.
      applicationLogLevelV2: ApplicationLogLevel[props.logLevel],
      role,
      tracing: Tracing.ACTIVE,
      environment: { ...HOUSE_ENVIRONMENT },
      bundling: HOUSE_BUNDLING,
    });
    this.declaration = declaration;
    this.functionLogGroup = logGroup;
    logGroup.grantWrite(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which has no resource-level permissions; the infra tests fail on any other action granted on "*".',
    });
  }

  override addEnvironment(key: string, value: string, options?: { removeInEdge?: boolean }): this {
    const current = (this as unknown as { environment: Record<string, { value: string }> }).environment[key];
    if (current !== undefined && current.value !== value) {
      throw new Error(
        `${this.declaration.name}: environment variable ${key} is already set to another value`,
      );
    }
    return super.addEnvironment(key, value, options);
  }
}
