import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { loadConfig } from '#shared/config/load-config.ts';
import { salescalingFromSecret } from '#shared/config/salescaling-key.ts';
import { events } from '#shared/events/catalog.ts';
import { eventBridgePublisher, publishEvent } from '#shared/events/publisher.ts';
import { idempotencyStore } from '#shared/idempotency/store.ts';
import { logger } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { tracer } from '#shared/observability/tracer.ts';
import { deadLetterSender, lastDeliveryReason } from '#shared/queues/dead-letter.ts';
import { applyCommand, type CommandEvent, CommandRejected } from './commands.ts';

const config = loadConfig(
  z.object({
    SALESCALING_BASE_URL: z.url(),
    SALESCALING_API_KEY_SECRET_ID: z.string().min(1),
    EVENT_BUS_NAME: z.string().min(1),
    IDEMPOTENCY_TABLE_NAME: z.string().min(1),
    DEAD_LETTER_QUEUE_URL: z.url(),
    MAX_RECEIVE_COUNT: z.coerce.number().int().positive(),
    OPPORTUNITY_OPEN_STATUS: z.string().min(1).default('open'),
    OPPORTUNITY_WON_STATUS: z.string().min(1).default('won'),
    OPPORTUNITY_LOST_STATUS: z.string().min(1).default('lost'),
  }),
);
const { client, ...key } = salescalingFromSecret({
  baseUrl: config.SALESCALING_BASE_URL,
  secretId: config.SALESCALING_API_KEY_SECRET_ID,
});
const publisher = eventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME);
const sendToDeadLetterQueue = deadLetterSender(new SQSClient({}), config.DEAD_LETTER_QUEUE_URL);
const settings = {
  openStatus: config.OPPORTUNITY_OPEN_STATUS,
  wonStatus: config.OPPORTUNITY_WON_STATUS,
  lostStatus: config.OPPORTUNITY_LOST_STATUS,
};
const persistenceStore = idempotencyStore(config.IDEMPOTENCY_TABLE_NAME);
// The EventBridge event id: replaying the same event (an archive replay, a duplicate put) applies it once.
const idempotency = new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: 7 * 24 * 3600 });
const applyOnce = makeIdempotent(
  (event: CommandEvent) => applyCommand(event, { client, publisher, settings }),
  {
    persistenceStore,
    config: idempotency,
  },
);

const reject = async (record: SQSRecord, event: Partial<CommandEvent>, error: CommandRejected) => {
  metrics.addMetric('CommandsRejected', MetricUnit.Count, 1);
  logger.warn('Command rejected', {
    commandId: event.id,
    command: event['detail-type'],
    reason: error.message,
    errors: error.errors,
  });
  await sendToDeadLetterQueue(
    record,
    `${error.message}${error.errors.length > 0 ? `: ${JSON.stringify(error.errors)}` : ''}`,
  );
  if (event.id && event['detail-type']) {
    await publishEvent(publisher, events.commandRejected, {
      commandId: event.id,
      command: event['detail-type'],
      reason: error.message,
      errors: [...error.errors],
    });
  }
};

const processRecord = async (record: SQSRecord) => {
  let event: Partial<CommandEvent>;
  try {
    event = JSON.parse(record.body) as Partial<CommandEvent>;
  } catch {
    return reject(record, {}, new CommandRejected('The message is not an EventBridge event (not JSON)'));
  }
  logger.appendKeys({ commandId: event.id, command: event['detail-type'] });
  try {
    const outcome = await applyOnce({
      id: String(event.id),
      'detail-type': String(event['detail-type']),
      detail: event.detail,
    });
    logger.info('Command handled', { commandId: event.id, command: event['detail-type'], ...outcome });
    metrics.addMetric('CommandsApplied', MetricUnit.Count, 1);
  } catch (error) {
    if (error instanceof CommandRejected) return reject(record, event, error);
    // The last delivery: dead-letter it ourselves, so the message carries why.
    const reason = lastDeliveryReason(record, config.MAX_RECEIVE_COUNT, error);
    if (reason) {
      logger.warn('Command dead-lettered after its last delivery', { reason });
      await sendToDeadLetterQueue(record, reason);
      return;
    }
    throw error;
  } finally {
    logger.removeKeys(['commandId', 'command']);
  }
};

const processor = new BatchProcessor(EventType.SQS);

const handle = async (event: SQSEvent, context: Context & { salescalingApiKey?: unknown }) => {
  key.remember(context);
  idempotency.registerLambdaContext(context);
  return processPartialResponse(event, processRecord, processor, { context, processInParallel: false });
};

export const handler = middy(handle)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(key.middleware());
