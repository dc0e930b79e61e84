import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { jsonEnv } from '#shared/config/json-env.ts';
import { loadConfig } from '#shared/config/load-config.ts';
import { salescalingFromSecret } from '#shared/config/salescaling-key.ts';
import { RequestError } from '#shared/errors.ts';
import { events } from '#shared/events/catalog.ts';
import { eventBridgePublisher } from '#shared/events/publisher.ts';
import { logger } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { tracer } from '#shared/observability/tracer.ts';
import { opportunityStatusesEnv } from '#shared/salescaling/assumptions.ts';
import { describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';
import { staleDealsConfigSchema } from './config.ts';
import { dynamoDbRunStore } from './run-store.ts';
import { type SweepCollaborators, type SweepOutcome, type SweepStart, sweep } from './sweep.ts';

const config = loadConfig(
  z.object({
    SALESCALING_BASE_URL: z.url(),
    SALESCALING_API_KEY_SECRET_ID: z.string().min(1),
    EVENT_BUS_NAME: z.string().min(1),
    SWEEP_RUNS_TABLE_NAME: z.string().min(1),
    STALE_DEALS_CONFIG: jsonEnv(staleDealsConfigSchema),
    OPPORTUNITY_STATUSES: opportunityStatusesEnv,
    SWEEP_TIME_MARGIN_MS: z.coerce.number().int().positive().default(60_000),
  }),
);
const { client, ...key } = salescalingFromSecret({
  baseUrl: config.SALESCALING_BASE_URL,
  secretId: config.SALESCALING_API_KEY_SECRET_ID,
});
const publisher = eventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME);
const runs = dynamoDbRunStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({})),
  config.SWEEP_RUNS_TABLE_NAME,
);

/**
 * What the schedule sends: only the Scheduler (or an operator allowed to invoke the function) can,
 * so its input is trusted; an on-demand run may force `dryRun` either way. Anything else is refused.
 */
const scheduleInputSchema = z.object({ dryRun: z.boolean().optional() }).strict();
/** The EventBridge event a continuation's queue message carries; its detail is checked apart. */
const continuationMessageSchema = z.object({ detail: z.unknown() });

const isQueueBatch = (event: unknown): event is SQSEvent =>
  typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records);

const handle = async (event: unknown, context: Context & { salescalingApiKey?: unknown }) => {
  key.remember(context);
  const deps: SweepCollaborators = {
    client,
    publisher,
    runs,
    config: config.STALE_DEALS_CONFIG,
    statuses: config.OPPORTUNITY_STATUSES,
    now: () => new Date(),
    remainingMs: () => context.getRemainingTimeInMillis(),
    marginMs: config.SWEEP_TIME_MARGIN_MS,
    log: (message, extra) => logger.info(message, extra),
  };
  if (isQueueBatch(event)) {
    // Continuations (batches of one). A refused one is acknowledged, not retried: retrying cannot
    // make it valid, and it is logged (and counted) with its reason.
    for (const record of event.Records) {
      const start = continuationOf(record.body);
      if (!start.success) {
        refuse({ reason: 'invalid-continuation', message: start.message, messageId: record.messageId });
        continue;
      }
      const result = await sweep(start.data, deps);
      if (result.outcome === 'refused') refuse({ ...result, messageId: record.messageId });
      else report(result);
    }
    return { batchItemFailures: [] };
  }
  const parsedInput = scheduleInputSchema.safeParse(event ?? {});
  if (!parsedInput.success) {
    // An operator's mistake in an on-demand run (or a schedule's input): said plainly, no stack.
    // A RequestError, so the local runtime answers it as the caller's mistake (400), not retried.
    const fields = fieldIssues(parsedInput.error);
    throw new RequestError(
      400,
      `Invalid schedule input (only {"dryRun": true|false} is read): ${describeFieldIssues(fields)}`,
      { fields },
    );
  }
  const input = parsedInput.data;
  const result = await sweep({ kind: 'schedule', dryRun: input.dryRun }, deps);
  report(result);
  if (result.outcome === 'completed')
    return { outcome: result.outcome, runId: result.runId, capReached: result.capReached, ...result.totals };
  if (result.outcome === 'continued')
    return { outcome: result.outcome, runId: result.runId, step: result.step, nextPage: result.page };
  return result;
};

function continuationOf(
  body: string,
): { success: true; data: SweepStart } | { success: false; message: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { success: false, message: 'the message is not JSON' };
  }
  const message = continuationMessageSchema.safeParse(parsed);
  const detail = events.staleSweepContinued.schema.safeParse(
    message.success ? message.data.detail : undefined,
  );
  if (!detail.success)
    return { success: false, message: describeFieldIssues(fieldIssues(detail.error)).slice(0, 500) };
  return { success: true, data: { kind: 'continuation', runId: detail.data.runId, step: detail.data.step } };
}

function refuse(refusal: {
  reason: string;
  message: string;
  messageId: string;
  runId?: string;
  step?: number;
}) {
  // `message` is a reserved key of the Powertools logger (it would be dropped): the text goes in `explanation`.
  const { message, ...rest } = refusal;
  logger.warn('Stale sweep continuation refused', { ...rest, explanation: message });
  metrics.addMetric('StaleSweepContinuationsRefused', MetricUnit.Count, 1);
}

function report(result: SweepOutcome) {
  if (result.outcome === 'completed') {
    metrics.addMetric('StaleDealsClosed', MetricUnit.Count, result.totals.closed);
    metrics.addMetric('StaleDealsFound', MetricUnit.Count, result.totals.stale);
    logger.info('Stale sweep run', { ...result });
  } else if (result.outcome === 'abandoned') logger.warn('Stale sweep run abandoned', { ...result });
  else logger.info('Stale sweep step done', { ...result });
}

export const handler = middy(handle)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(key.middleware());
