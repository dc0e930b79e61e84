import 'aws-sdk-client-mock-vitest/extend';
import { SendMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { processRecord } from '#functions/lead-sync/process.ts';
import { DeadLetterError, deadLetterSender } from '#shared/queues/dead-letter.ts';

/** SendMessage failing when a record is dead-lettered: the real SQS client, its `send` replaced. */
const sqs = mockClient(SQSClient);
beforeEach(() => sqs.reset());

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/lead-sync-dlq';
const sendTo = () => deadLetterSender(new SQSClient({ region: 'eu-west-1' }), QUEUE_URL);

const record = (body: string, receiveCount = 1): SQSRecord => ({
  messageId: 'm-1',
  receiptHandle: 'rh-1',
  body,
  attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: '0',
    SenderId: 'sender',
    ApproximateFirstReceiveTimestamp: '0',
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:lead-sync',
  awsRegion: 'eu-west-1',
});

const sqsError = (name: string) =>
  new SQSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: name });

describe('deadLetterSender', () => {
  it('sends the body unchanged with the reason as an attribute', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'dl-1' });
    await sendTo()(record('{"detail":1}'), 'Not a lead');
    expect(sqs).toHaveReceivedCommandExactlyOnceWith(SendMessageCommand, {
      QueueUrl: QUEUE_URL,
      MessageBody: '{"detail":1}',
      MessageAttributes: { reason: { DataType: 'String', StringValue: 'Not a lead' } },
    });
  });

  it.each(['ThrottlingException', 'KmsAccessDenied', 'AccessDeniedException', 'QueueDoesNotExist'])(
    'throws on %s, naming the message and the queue, with the AWS error as cause',
    async (code) => {
      const error = sqsError(code);
      sqs.on(SendMessageCommand).rejects(error);
      const failure = await sendTo()(record('{}'), 'reason').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(DeadLetterError);
      expect((failure as Error).message).toBe(
        `Could not send message m-1 to the dead-letter queue ${QUEUE_URL}: ${code}`,
      );
      expect((failure as Error).cause).toBe(error);
    },
  );
});

describe('lead-sync processRecord when the dead letter cannot be sent', () => {
  const collaborators = (sync: () => Promise<never>) => ({
    sync,
    deadLetter: sendTo(),
    maxReceiveCount: 5,
  });

  it('rejects for a permanent failure (not JSON), so the batch reports the record and it stays queued', async () => {
    sqs.on(SendMessageCommand).rejects(sqsError('ThrottlingException'));
    const sync = async (): Promise<never> => {
      throw new Error('never called');
    };
    await expect(processRecord(record('not json'), collaborators(sync))).rejects.toThrow(DeadLetterError);
    expect(sqs).toHaveReceivedCommandOnce(SendMessageCommand);
  });

  it('rejects on the last delivery of a transient failure, instead of counting it as handled', async () => {
    sqs.on(SendMessageCommand).rejects(sqsError('ThrottlingException'));
    const body = JSON.stringify({ detail: validLead() });
    const sync = async (): Promise<never> => {
      throw new Error('Salescaling 503');
    };
    await expect(processRecord(record(body, 5), collaborators(sync))).rejects.toThrow(DeadLetterError);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: 'Gave up after 5 deliveries: Salescaling 503' },
      },
    });
  });

  it('resolves once the dead letter is sent: the record is done', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'dl-1' });
    const sync = async (): Promise<never> => {
      throw new Error('never called');
    };
    await expect(processRecord(record('not json'), collaborators(sync))).resolves.toBeUndefined();
  });
});

function validLead() {
  return {
    schemaVersion: 1,
    submissionId: 'sub-1',
    source: { provider: 'form' },
    receivedAt: '2026-01-01T00:00:00.000Z',
    submittedAt: '2026-01-01T00:00:00.000Z',
    contact: { email: 'ada@acme.com' },
    company: {},
    opportunity: {},
    fields: {},
  };
}
