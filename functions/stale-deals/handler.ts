import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { jsonEnv } from '#shared/config/json-env.ts';
import { loadConfig } from '#shared/config/load-config.ts';
import { salescalingFromSecret } from '#shared/config/salescaling-key.ts';
import { events } from '#shared/events/catalog.ts';
import { eventBridgePublisher } from '#shared/events/publisher.ts';
import { logger } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { tracer } from '#shared/observability/tracer.ts';
import { staleDealsConfigSchema } from './config.ts';
import { type SweepCollaborators, sweep } from './sweep.ts';

const config = loadConfig(
  z.object({
    SALESCALING_BASE_URL: z.url(),
    SALESCALING_API_KEY_SECRET_ID: z.string().min(1),
    EVENT_BUS_NAME: z.string().min(1),
    STALE_DEALS_CONFIG: jsonEnv(staleDealsConfigSchema),
    SWEEP_TIME_MARGIN_MS: z.coerce.number().int().positive().default(60_000),
  }),
);
const { client, ...key } = salescalingFromSecret({
  baseUrl: config.SALESCALING_BASE_URL,
  secretId: config.SALESCALING_API_KEY_SECRET_ID,
});
const publisher = eventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME);

/** What the schedule sends; an operator's on-demand run may force `dryRun` either way. */
const scheduleInputSchema = z.looseObject({ dryRun: z.boolean().optional() });

const isQueueBatch = (event: unknown): event is SQSEvent =>
  typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records);

const handle = async (event: unknown, context: Context & { salescalingApiKey?: unknown }) => {
  key.remember(context);
  const deps: SweepCollaborators = {
    client,
    publisher,
    config: config.STALE_DEALS_CONFIG,
    now: () => new Date(),
    remainingMs: () => context.getRemainingTimeInMillis(),
    marginMs: config.SWEEP_TIME_MARGIN_MS,
    log: (message, extra) => logger.info(message, extra),
  };
  if (isQueueBatch(event)) {
    // A continuation: the same sweep, resumed at its cursor (batches of one).
    for (const record of event.Records) {
      const cursor = events.staleSweepContinued.schema.parse(
        (JSON.parse(record.body) as { detail?: unknown }).detail,
      );
      const result = await sweep({ cursor }, deps);
      logger.info('Stale sweep step done', { runId: cursor.runId, outcome: result.outcome });
    }
    return { batchItemFailures: [] };
  }
  const input = scheduleInputSchema.parse(event ?? {});
  const result = await sweep({ dryRun: input.dryRun }, deps);
  if (result.outcome === 'completed') {
    metrics.addMetric('StaleDealsClosed', MetricUnit.Count, result.totals.closed);
    metrics.addMetric('StaleDealsFound', MetricUnit.Count, result.totals.stale);
  }
  logger.info(
    'Stale sweep run',
    result.outcome === 'completed' ? { ...result } : { outcome: result.outcome, page: result.cursor.page },
  );
  return result.outcome === 'completed'
    ? { outcome: result.outcome, runId: result.runId, capReached: result.capReached, ...result.totals }
    : { outcome: result.outcome, runId: result.cursor.runId, nextPage: result.cursor.page };
};

export const handler = middy(handle)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(key.middleware());
