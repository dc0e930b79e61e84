import 'aws-sdk-client-mock-vitest/extend';
import { ChangeMessageVisibilityCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { queueRetries, type RetrySchedule } from '#shared/queues/retry.ts';
import {
  SalescalingInvalidRequestError,
  SalescalingRateLimitedError,
  SalescalingServerError,
} from '#shared/salescaling/errors.ts';

/** The failure path's SQS call (ChangeMessageVisibility): the real SQS client, its `send` replaced. */
const sqs = mockClient(SQSClient);
beforeEach(() => sqs.reset());

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/lead-sync';
const schedule: RetrySchedule = { windowSeconds: 6 * 3600, baseSeconds: 60, capSeconds: 1800 };
const T0 = 1_800_000_000_000;

const record = (receives: number, firstReceivedAt = T0): SQSRecord => ({
  messageId: 'm-1',
  receiptHandle: `rh-${receives}`,
  body: '{}',
  attributes: {
    ApproximateReceiveCount: String(receives),
    SentTimestamp: String(firstReceivedAt - 1000),
    SenderId: 'sender',
    ApproximateFirstReceiveTimestamp: String(firstReceivedAt),
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:lead-sync',
  awsRegion: 'eu-west-1',
});

const outage = () =>
  new SalescalingServerError('Salescaling answered 503', { operation: 'listContacts', status: 503 });
const warnings: string[] = [];
const delays: Record<string, unknown>[] = [];
const retries = (now: number, maxReceiveCount = 40) =>
  queueRetries({
    sqs: new SQSClient({ region: 'eu-west-1' }),
    queueUrl: QUEUE_URL,
    schedule,
    maxReceiveCount,
    now: () => now,
    random: () => 0.5,
    warn: (message) => warnings.push(message),
    info: (_message, details) => delays.push(details),
  });

describe('queueRetries', () => {
  it('delays a record failing on a Salescaling 5xx by a growing, jittered delay on its own queue', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    delays.length = 0;
    expect(await retries(T0)(record(1), outage())).toEqual({ giveUp: false, delaySeconds: 45 });
    expect(await retries(T0 + 60_000)(record(4), outage())).toEqual({ giveUp: false, delaySeconds: 360 });
    expect(await retries(T0 + 3_600_000)(record(12), outage())).toEqual({
      giveUp: false,
      delaySeconds: 1350,
    });
    expect(sqs).toHaveReceivedCommandTimes(ChangeMessageVisibilityCommand, 3);
    // Each delay is logged, with how long the record has been failing and the window.
    expect(delays[1]).toEqual({
      messageId: 'm-1',
      deliveries: 4,
      delaySeconds: 360,
      failingSeconds: 60,
      windowSeconds: 21_600,
    });
    expect(sqs).toHaveReceivedNthCommandWith(ChangeMessageVisibilityCommand, 2, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: 'rh-4',
      VisibilityTimeout: 360,
    });
  });

  it("waits at least Salescaling's Retry-After on a 429", async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const limited = new SalescalingRateLimitedError('429', {
      operation: 'listContacts',
      status: 429,
      retryAfterMs: 600_000,
    });
    expect(await retries(T0)(record(1), limited)).toEqual({ giveUp: false, delaySeconds: 600 });
  });

  it('never delays past the end of the window, so the last try comes as it closes', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const now = T0 + (schedule.windowSeconds - 100) * 1000;
    expect(await retries(now)(record(20), outage())).toEqual({ giveUp: false, delaySeconds: 100 });
  });

  it('gives up, saying so, once the record has been failing longer than the window', async () => {
    const now = T0 + (schedule.windowSeconds + 5) * 1000;
    const decision = await retries(now)(record(19), outage());
    expect(decision).toEqual({
      giveUp: true,
      reason:
        'Still failing after 21605 s, past the 21600 s outage window (19 deliveries): Salescaling answered 503',
    });
    expect(sqs).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
  });

  it("gives up on the queue's last delivery even inside the window", async () => {
    expect(await retries(T0 + 1000, 5)(record(5), outage())).toEqual({
      giveUp: true,
      reason: 'Gave up after 5 deliveries: Salescaling answered 503',
    });
  });

  it('leaves a failure that is not transient to the visibility timeout, without a visibility change', async () => {
    const refused = new SalescalingInvalidRequestError('400', {
      operation: 'createOpportunity',
      status: 400,
    });
    expect(await retries(T0)(record(1), refused)).toEqual({ giveUp: false, delaySeconds: undefined });
    expect(await retries(T0)(record(1), new Error('DynamoDB throttled'))).toEqual({
      giveUp: false,
      delaySeconds: undefined,
    });
    expect(sqs).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
  });

  it.each(['AccessDenied', 'ReceiptHandleIsInvalid', 'MessageNotInflight', 'ThrottlingException'])(
    'does not lose the record when ChangeMessageVisibility fails with %s: it comes back after the visibility timeout',
    async (code) => {
      warnings.length = 0;
      sqs.on(ChangeMessageVisibilityCommand).rejects(
        new SQSServiceException({
          name: code,
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: code,
        }),
      );
      expect(await retries(T0)(record(2), outage())).toEqual({ giveUp: false, delaySeconds: undefined });
      expect(warnings).toEqual(['Could not delay the record; it comes back after the visibility timeout']);
    },
  );
});
