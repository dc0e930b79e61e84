import { catalog } from '#functions/catalog.ts';
import { assertSettingsFit } from '#functions/settings-fit.ts';
import { emulatorOptionsFromEnv } from '#local/emulator/config.ts';
import { type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import { localConfigFromEnv } from './config.ts';
import { LOCAL_RETRY_SCHEDULE, type LocalRuntime, startLocalRuntime } from './runtime.ts';

/**
 * `npm start`: the whole system on this machine. The Salescaling emulator (unless
 * SALESCALING_BASE_URL names a real API), then every declared function behind local API Gateway,
 * EventBridge, SQS, Scheduler and Secrets Manager stand-ins, on one origin.
 */
export async function main(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ runtime: LocalRuntime; emulator?: RunningEmulator }> {
  const config = localConfigFromEnv(env);
  const apiKey = config.SALESCALING_API_KEY ?? 'local-dev-key';
  const salescalingMaxRps = config.SALESCALING_MAX_RPS ?? (config.SALESCALING_BASE_URL ? 5 : 50);
  // As at synth: a budget too small for the catalog's batches fails here, not as timeouts later.
  // Locally 1 s doubling to 10 s (the stage's 60 s to 30 min), over the local window.
  const retrySchedule = { ...LOCAL_RETRY_SCHEDULE, windowSeconds: config.OUTAGE_WINDOW_SECONDS };
  assertSettingsFit(catalog, { maxRequestsPerSecond: salescalingMaxRps, retrySchedule });
  let emulator: RunningEmulator | undefined;
  if (!config.SALESCALING_BASE_URL) {
    const options = emulatorOptionsFromEnv({ ...env, EMULATOR_API_KEY: apiKey }, { seed: 25 });
    emulator = await startEmulator(options).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EADDRINUSE'
        ? new Error(
            `Port ${options.port} is already in use, so the Salescaling emulator cannot start: set EMULATOR_PORT to another port`,
          )
        : error;
    });
  }
  const salescalingBaseUrl = config.SALESCALING_BASE_URL ?? emulator?.apiBaseUrl ?? '';
  const runtime = await startLocalRuntime({
    declarations: catalog,
    port: config.PORT,
    host: config.HOST,
    platform: {
      logLevel: config.LOG_LEVEL,
      salescalingBaseUrl,
      salescalingMaxRps,
      salescalingMaxConcurrency: config.SALESCALING_MAX_CONCURRENCY,
      salescalingBudget: config.SALESCALING_BUDGET,
      retrySchedule,
    },
    secrets: {
      salescalingApiKey: apiKey,
      webhookSigningSecrets: {
        typeform: config.TYPEFORM_SIGNING_SECRET,
        webflow: config.WEBFLOW_SIGNING_SECRET,
        tally: config.TALLY_SIGNING_SECRET,
        'standard-webhooks': config.STANDARD_WEBHOOKS_SECRET,
      },
    },
    settings: {
      ...(config.LEAD_FIELD_MAPPING ? { leadFieldMapping: JSON.stringify(config.LEAD_FIELD_MAPPING) } : {}),
      ...(config.THANK_YOU_URL ? { thankYouUrl: config.THANK_YOU_URL } : {}),
      ...(config.STALE_DEALS_CONFIG ? { staleDealsConfig: JSON.stringify(config.STALE_DEALS_CONFIG) } : {}),
      ...(config.OPPORTUNITY_STATUSES
        ? { opportunityStatuses: JSON.stringify(config.OPPORTUNITY_STATUSES) }
        : {}),
      ...(config.COMMANDS_CONFIG ? { commandsConfig: JSON.stringify(config.COMMANDS_CONFIG) } : {}),
    },
    schedules: config.LOCAL_SCHEDULES,
    emulatorUrl: emulator?.url,
  }).catch(async (error: unknown) => {
    await emulator?.close();
    throw error;
  });

  const lines = [
    'Salescaling automation is running locally.',
    emulator
      ? `  Salescaling emulator   ${emulator.apiBaseUrl}  (x-api-key: ${apiKey === 'local-dev-key' ? 'local-dev-key' : 'from SALESCALING_API_KEY'})`
      : `  Salescaling API        ${salescalingBaseUrl}  (real API)`,
    `  Functions              ${runtime.url}`,
    ...runtime.routes.map(
      (r) => `    ${`${r.trigger.method} ${r.trigger.path}`.padEnd(28)} → ${r.functionName}`,
    ),
    ...runtime.bus.rules.map((r) => `    event rule ${r.name.padEnd(17)} → ${r.queue.name} (queue)`),
    ...runtime.schedules.map(
      (s) =>
        `    schedule ${s.trigger.name.padEnd(19)} → ${s.host.declaration.name} ${s.expression} ${s.trigger.timeZone}`,
    ),
    `  Event bus              PutEvents at ${runtime.url} (bus ${runtime.bus.name})`,
    `  Console                ${runtime.console.url}  (live stream, journeys, actions)`,
    `  Demo lead form         ${runtime.url}/demo/form`,
    `  Local routes           ${runtime.url}/_local/{functions,events,invocations,dead-letters,schedules/NAME,replay}`,
    'Press Ctrl-C to stop.',
  ];
  console.info(lines.join('\n'));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.info(`\n${signal}: stopping`);
    await runtime.close();
    await emulator?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return emulator ? { runtime, emulator } : { runtime };
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
