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
import { eventBridgePublisher } from '#shared/events/publisher.ts';
import { commandOrderStore } from '#shared/idempotency/command-order.ts';
import { idempotencyStore } from '#shared/idempotency/store.ts';
import { appendRecordKeys, logger, withRecordKeys } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { tracer } from '#shared/observability/tracer.ts';
import { deadLetterSender } from '#shared/queues/dead-letter.ts';
import { keyedChains } from '#shared/queues/keyed-chains.ts';
import { queueRetriesFromConfig, queueRetryEnv } from '#shared/queues/retry-env.ts';
import { opportunityStatusesEnv } from '#shared/salescaling/assumptions.ts';
import { clipText } from '#shared/salescaling/schemas.ts';
import { applyOrReject, type CommandEvent, type CommandRejection, commandChainKeys } from './commands.ts';
import { commandsConfigEnv } from './config.ts';

const config = loadConfig(
  z.object({
    SALESCALING_BASE_URL: z.url(),
    SALESCALING_API_KEY_SECRET_ID: z.string().min(1),
    EVENT_BUS_NAME: z.string().min(1),
    IDEMPOTENCY_TABLE_NAME: z.string().min(1),
    /** At least the bus archive's retention (shared/idempotency/expiry.ts). */
    IDEMPOTENCY_EXPIRY_SECONDS: z.coerce.number().int().positive(),
    DEAD_LETTER_QUEUE_URL: z.url(),
    ...queueRetryEnv,
    OPPORTUNITY_STATUSES: opportunityStatusesEnv,
    COMMANDS_CONFIG: commandsConfigEnv,
  }),
);
const { client, ...key } = salescalingFromSecret({
  baseUrl: config.SALESCALING_BASE_URL,
  secretId: config.SALESCALING_API_KEY_SECRET_ID,
});
const publisher = eventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME);
const sqs = new SQSClient({});
const sendToDeadLetterQueue = deadLetterSender(sqs, config.DEAD_LETTER_QUEUE_URL);
// A Salescaling outage is ridden out with growing delays, up to the stage's window (docs/outages.md).
const retry = queueRetriesFromConfig(sqs, config, {
  warn: (message, details) => logger.warn(message, details),
  info: (message, details) => logger.info(message, details),
});
const settings = config.OPPORTUNITY_STATUSES;
const persistenceStore = idempotencyStore(config.IDEMPOTENCY_TABLE_NAME);
// The EventBridge event id: replaying the same event (an archive replay, a duplicate put) applies it once.
// Kept at least as long as the archive: a replay of any archived window is recognised (docs/replays.md).
const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'id',
  expiresAfterSeconds: config.IDEMPOTENCY_EXPIRY_SECONDS,
});
// The newest command taken up per opportunity, beside the idempotency records and as long-lived.
const orderStore = commandOrderStore(config.IDEMPOTENCY_TABLE_NAME, config.IDEMPOTENCY_EXPIRY_SECONDS);
const applyOnce = makeIdempotent(
  (event: CommandEvent) =>
    applyOrReject(event, {
      client,
      publisher,
      settings,
      orderStore,
      allowDelete: config.COMMANDS_CONFIG.allowDelete,
      warn: (message, details) => logger.warn(message, { ...details }),
    }),
  {
    persistenceStore,
    config: idempotency,
  },
);

const deadLetterReason = (rejection: CommandRejection) =>
  `${rejection.reason}${rejection.errors.length > 0 ? `: ${JSON.stringify(rejection.errors)}` : ''}`;

/**
 * One record. Its dead letter is always the last step: whatever fails before it is retried with
 * nothing sent, and once it is sent the record succeeds, so one command yields one letter.
 */
const processRecord = async (record: SQSRecord) => {
  let event: Partial<CommandEvent>;
  try {
    event = JSON.parse(record.body) as Partial<CommandEvent>;
  } catch {
    event = {};
  }
  if (typeof event?.id !== 'string' || typeof event['detail-type'] !== 'string') {
    // Not from a rule at all (rules deliver whole events): nothing to answer, only to keep.
    metrics.addMetric('CommandsRejected', MetricUnit.Count, 1);
    logger.warn('Command rejected', { reason: 'not an EventBridge event' });
    await sendToDeadLetterQueue(record, 'The message is not an EventBridge event');
    return;
  }
  appendRecordKeys({ commandId: clipText(event.id, 200), command: clipText(event['detail-type'], 200) });
  try {
    const outcome = await applyOnce({
      id: event.id,
      'detail-type': event['detail-type'],
      time: event.time,
      detail: event.detail,
    });
    if (outcome.outcome === 'rejected') {
      metrics.addMetric('CommandsRejected', MetricUnit.Count, 1);
      logger.warn('Command rejected', { reason: outcome.reason, errors: outcome.errors });
      await sendToDeadLetterQueue(record, deadLetterReason(outcome));
      return;
    }
    logger.info('Command handled', { ...outcome });
    metrics.addMetric(
      outcome.outcome === 'superseded' ? 'CommandsSuperseded' : 'CommandsApplied',
      MetricUnit.Count,
      1,
    );
  } catch (error) {
    // Past the outage window, or the last delivery: dead-letter it ourselves, so the message carries why.
    // Otherwise a Salescaling failure is delayed (growing, capped) before the queue delivers it again.
    const decision = await retry(record, error);
    if (decision.giveUp) {
      logger.warn('Command dead-lettered after its last delivery', { reason: decision.reason });
      await sendToDeadLetterQueue(record, decision.reason);
      return;
    }
    throw error;
  }
};

/**
 * Says why a record failed (the batch only reports that it did), with the command's keys, then lets
 * the queue redeliver it.
 */
const processRecordLoggingFailure = async (record: SQSRecord) => {
  try {
    await processRecord(record);
  } catch (error) {
    logger.error('Command failed; the queue will deliver it again', {
      messageId: record.messageId,
      deliveries: Number(record.attributes.ApproximateReceiveCount),
      error,
    });
    throw error;
  }
};

// A batch's records run at once, paced by the Salescaling limiter, each failure reported alone;
// commands for one opportunity (and all upserts, which find and create contacts and companies) run
// in batch order, so they never race past the ordering guard (commandChainKeys in commands.ts).
const processor = new BatchProcessor(EventType.SQS);

const handle = async (event: SQSEvent, context: Context & { salescalingApiKey?: unknown }) => {
  key.remember(context);
  idempotency.registerLambdaContext(context);
  const inOrder = keyedChains();
  return processPartialResponse(
    event,
    (record: SQSRecord) =>
      // Each record's own log keys (its command's), right while the others run beside it.
      inOrder(commandChainKeys(record.body), () =>
        withRecordKeys({}, () => processRecordLoggingFailure(record)),
      ),
    processor,
    { context, processInParallel: true },
  );
};

export const handler = middy(handle)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(key.middleware());
