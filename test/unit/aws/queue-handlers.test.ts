import 'aws-sdk-client-mock-vitest/extend';
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '#shared/observability/logger.ts';

/**
 * The lead-sync and integration-commands handlers (whole middy stacks) when SendMessage fails at
 * dead-letter time: the record must be reported failed (or the invocation fail), so SQS keeps it
 * on its own queue, never acknowledged without its letter. Real SDK clients, `send` replaced.
 */
const sqs = mockClient(SQSClient);
const secretsManager = mockClient(SecretsManagerClient);
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
const handlers: Record<'lead-sync' | 'integration-commands', Handler> = {} as never;

beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('SALESCALING_BASE_URL', 'http://127.0.0.1:9/api');
  vi.stubEnv('SALESCALING_API_KEY_SECRET_ID', 'salescaling/api-key');
  vi.stubEnv('EVENT_BUS_NAME', 'bus');
  vi.stubEnv('IDEMPOTENCY_TABLE_NAME', 'idempotency-table'); // never reached: no record gets that far
  vi.stubEnv('IDEMPOTENCY_EXPIRY_SECONDS', '3600');
  vi.stubEnv('DEAD_LETTER_QUEUE_URL', DLQ_URL);
  vi.stubEnv('MAX_RECEIVE_COUNT', '5');
  vi.stubEnv('SOURCE_QUEUE_URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/queue');
  vi.stubEnv('RETRY_WINDOW_SECONDS', '21600');
  vi.stubEnv('RETRY_BASE_SECONDS', '60');
  vi.stubEnv('RETRY_CAP_SECONDS', '1800');
  // The key middleware fetches at cold start (module scope): its answer must be set before import.
  secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'test-key' });
  handlers['lead-sync'] = (await import('#functions/lead-sync/handler.ts')).handler as unknown as Handler;
  handlers['integration-commands'] = (await import('#functions/integration-commands/handler.ts'))
    .handler as unknown as Handler;
});

beforeEach(() => {
  sqs.reset();
  // Quiet: the handlers log each failure, as they should.
  for (const level of ['info', 'warn', 'error'] as const)
    vi.spyOn(logger, level).mockImplementation(() => {});
  return () => vi.restoreAllMocks();
});

const context = () =>
  ({
    functionName: 'fn',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => 60_000,
  }) as unknown as Context;

const record = (messageId: string): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  // Not an EventBridge event: both functions dead-letter it at once, without calling anyone.
  body: 'not json',
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '0',
    SenderId: 'sender',
    ApproximateFirstReceiveTimestamp: '0',
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:queue',
  awsRegion: 'eu-west-1',
});

const throttled = new SQSServiceException({
  name: 'ThrottlingException',
  $fault: 'client',
  $metadata: { httpStatusCode: 400 },
  message: 'Rate exceeded',
});

describe.each(['lead-sync', 'integration-commands'] as const)(
  '%s when SendMessage fails at dead-letter time',
  (name) => {
    it('reports that record as a batch item failure, and only it, so it stays on its queue', async () => {
      sqs.on(SendMessageCommand).rejectsOnce(throttled).resolves({ MessageId: 'dl' });
      const response = await handlers[name]({ Records: [record('m-1'), record('m-2')] }, context());
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
      expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 2);
      expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
        QueueUrl: DLQ_URL,
        MessageBody: 'not json',
      });
    });

    it('fails the invocation when every dead letter fails, so the whole batch stays on its queue', async () => {
      sqs.on(SendMessageCommand).rejects(throttled);
      await expect(handlers[name]({ Records: [record('m-1')] }, context())).rejects.toThrow(
        FullBatchFailureError,
      );
    });

    it('reports no failure once the dead letters are sent', async () => {
      sqs.on(SendMessageCommand).resolves({ MessageId: 'dl' });
      const response = await handlers[name]({ Records: [record('m-1'), record('m-2')] }, context());
      expect(response).toEqual({ batchItemFailures: [] });
    });
  },
);
