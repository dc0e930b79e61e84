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
import { idempotencyStore } from '#shared/idempotency/store.ts';
import type { Lead } from '#shared/leads/lead.ts';
import { appendRecordKeys, logger, withRecordKeys } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { tracer } from '#shared/observability/tracer.ts';
import { deadLetterSender } from '#shared/queues/dead-letter.ts';
import { keyedChains } from '#shared/queues/keyed-chains.ts';
import { queueRetriesFromConfig, queueRetryEnv } from '#shared/queues/retry-env.ts';
import { opportunityStatusesEnv } from '#shared/salescaling/assumptions.ts';
import { leadChainKeys, leadIdempotency, processRecord, publishSyncEvents } from './process.ts';
import { syncLead } from './sync.ts';

const config = loadConfig(
  z.object({
    SALESCALING_BASE_URL: z.url(),
    SALESCALING_API_KEY_SECRET_ID: z.string().min(1),
    EVENT_BUS_NAME: z.string().min(1),
    /** A DynamoDB table name (dynalite's, in the local runtime). */
    IDEMPOTENCY_TABLE_NAME: z.string().min(1),
    /** At least the bus archive's retention (shared/idempotency/expiry.ts). */
    IDEMPOTENCY_EXPIRY_SECONDS: z.coerce.number().int().positive(),
    DEAD_LETTER_QUEUE_URL: z.url(),
    ...queueRetryEnv,
    OPPORTUNITY_STATUSES: opportunityStatusesEnv,
  }),
);

const sqs = new SQSClient({});
const sendToDeadLetterQueue = deadLetterSender(sqs, config.DEAD_LETTER_QUEUE_URL);
// A Salescaling outage is ridden out with growing delays, up to the stage's window (docs/outages.md).
const retry = queueRetriesFromConfig(sqs, config, {
  warn: (message, details) => logger.warn(message, details),
  info: (message, details) => logger.info(message, details),
});
const publisher = eventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME);

const { client, ...key } = salescalingFromSecret({
  baseUrl: config.SALESCALING_BASE_URL,
  secretId: config.SALESCALING_API_KEY_SECRET_ID,
});
const persistenceStore = idempotencyStore(config.IDEMPOTENCY_TABLE_NAME);
// Records outlive the bus archive, so a replayed Lead Received is recognised (docs/replays.md).
const idempotency = new IdempotencyConfig({
  ...leadIdempotency,
  expiresAfterSeconds: config.IDEMPOTENCY_EXPIRY_SECONDS,
});

/** The leads this sandbox actually ran (not answered from an idempotency record), to log duplicates. */
const ran = new WeakSet<Lead>();

const syncOnce = makeIdempotent(
  async (lead: Lead) => {
    ran.add(lead);
    const result = await syncLead(lead, client, {
      statusOnCreate: config.OPPORTUNITY_STATUSES.open,
      statuses: config.OPPORTUNITY_STATUSES,
    });
    await publishSyncEvents(publisher, lead, result);
    logger.info('Lead synced', { submissionId: lead.submissionId, ...result });
    metrics.addMetric('SalescalingCallsPerLead', MetricUnit.Count, result.calls);
    metrics.addMetric(
      result.opportunity === 'created' ? 'OpportunitiesCreated' : 'OpportunitiesUpdated',
      MetricUnit.Count,
      result.opportunity === 'unchanged' ? 0 : 1,
    );
    return result;
  },
  { persistenceStore, config: idempotency },
);

const sync = async (lead: Lead) => {
  // Every line logged about this lead (the client's retries and a dead letter included) carries its id.
  appendRecordKeys({ submissionId: lead.submissionId, provider: lead.source.provider });
  const result = await syncOnce(lead);
  if (!ran.has(lead)) logger.info('Duplicate lead: already synced, nothing done', { calls: 0 });
  return result;
};

const deadLetter = async (record: SQSRecord, reason: string) => {
  logger.warn('Lead dead-lettered', { messageId: record.messageId, reason });
  metrics.addMetric('LeadsDeadLettered', MetricUnit.Count, 1);
  await sendToDeadLetterQueue(record, reason);
};

// A batch's records run at once: the Salescaling limiter paces them, and each record's failure is
// still reported alone (partial batch response). Leads are independent (one opportunity each, made
// once by the idempotency record), except two of one contact or company: those run in batch order.
const processor = new BatchProcessor(EventType.SQS);

const handle = async (event: SQSEvent, context: Context & { salescalingApiKey?: unknown }) => {
  key.remember(context);
  idempotency.registerLambdaContext(context);
  const inOrder = keyedChains();
  return processPartialResponse(
    event,
    (record: SQSRecord) =>
      inOrder(leadChainKeys(record), () =>
        // Each record's own log keys (its lead's), right while the others run beside it.
        withRecordKeys({}, () =>
          processRecord(record, {
            sync,
            deadLetter,
            maxReceiveCount: config.MAX_RECEIVE_COUNT,
            retry,
          }),
        ),
      ),
    processor,
    {
      context,
      processInParallel: true,
    },
  );
};

export const handler = middy(handle)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(key.middleware());
