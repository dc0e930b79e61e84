import 'aws-sdk-client-mock-vitest/extend';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { dynamoDbRunStore, type SweepRun } from '#functions/stale-deals/run-store.ts';

/**
 * The sweep's run store when DynamoDB refuses a conditional write: a lost race is `false` (someone
 * else holds the step), anything else is thrown, never taken for a lost race. The real document
 * client, `send` replaced. (The contract against DynamoDB itself is in test/unit/stale-deals.)
 */
const documents = mockClient(DynamoDBDocumentClient);
beforeEach(() => documents.reset());

const store = () =>
  dynamoDbRunStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })), 'runs');

const RUN_ID = '1f3a9c2e-0000-4000-8000-000000000001';
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const throttled = () =>
  new DynamoDBServiceException({
    name: 'ProvisionedThroughputExceededException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'throughput exceeded',
  });

const run: SweepRun = {
  runId: RUN_ID,
  status: 'running',
  dryRun: true,
  referenceTime: '2026-11-28T05:00:00.000Z',
  startedAt: '2026-11-28T05:00:00.000Z',
  page: 1,
  step: 0,
  totals: { scanned: 0, stale: 0, closed: 0, wouldClose: [], skipped: {}, errors: 0 },
  closesAttempted: 0,
  capReached: false,
  expiresAt: 1_800_000_000,
};
const lease = { id: 'lease-1', until: 2_000 };

describe('the run store, when a conditional write fails', () => {
  it('claim answers false on a failed condition: the step is not due, or another invocation holds it', async () => {
    documents.on(UpdateCommand).rejects(conditionFailed());
    await expect(store().claim(RUN_ID, 3, lease, 1_000)).resolves.toBe(false);
    expect(documents).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'runs',
      Key: { runId: RUN_ID },
      ExpressionAttributeValues: {
        ':lease': 'lease-1',
        ':until': 2_000,
        ':running': 'running',
        ':step': 3,
        ':now': 1_000,
      },
    });
  });

  it('claim answers true when the write succeeds', async () => {
    documents.on(UpdateCommand).resolves({});
    await expect(store().claim(RUN_ID, 3, lease, 1_000)).resolves.toBe(true);
  });

  it('update answers false on a failed condition (the step moved on, or the lease is another’s)', async () => {
    documents.on(UpdateCommand).rejects(conditionFailed());
    await expect(
      store().update(RUN_ID, { step: 3, leaseId: 'lease-1' }, { page: 2, leaseId: null }),
    ).resolves.toBe(false);
    expect(documents).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: '#status = :running AND #step = :expectedStep AND leaseId = :expectedLease',
    });
  });

  it.each([
    ['claim', () => store().claim(RUN_ID, 3, lease, 1_000)],
    ['update', () => store().update(RUN_ID, { step: 3, leaseId: null }, { page: 2 })],
  ])('%s throws when DynamoDB throttles: an outage is not a lost race', async (_, write) => {
    documents.on(UpdateCommand).rejects(throttled());
    await expect(write()).rejects.toThrow('throughput exceeded');
  });

  it('create throws on a failed condition: a run id is never written twice', async () => {
    documents.on(PutCommand).rejects(conditionFailed());
    await expect(store().create(run)).rejects.toThrow(ConditionalCheckFailedException);
    expect(documents).toHaveReceivedCommandWith(PutCommand, {
      ConditionExpression: 'attribute_not_exists(runId)',
    });
  });
});
