import 'aws-sdk-client-mock-vitest/extend';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { BudgetUnavailableError, TokenBucket } from '#shared/salescaling/budget.ts';
import { limiterFromEnv } from '#shared/salescaling/limiter.ts';

/**
 * The shared Salescaling budget (shared/salescaling/budget.ts) when DynamoDB answers with an error:
 * the real SDK client, `send` replaced (aws-sdk-client-mock). Whatever the table says, a request is
 * never lost: it goes through the static local share and `BudgetFallback` counts it; a lost race
 * (a failed condition) is not a failure of the table but a retry with the item DynamoDB returned.
 * The bucket on a real DynamoDB API is in test/unit/salescaling/budget.test.ts.
 */
const dynamoDb = mockClient(DynamoDBClient);
beforeEach(() => dynamoDb.reset());
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

const TABLE = 'salescaling-automation-prod-BudgetTable-1A2B3C';
const awsError = (name: string, status: number) =>
  new DynamoDBServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name}: arn:aws:dynamodb:eu-west-1:123456789012:table/${TABLE}`,
  });
const failures = [
  ['ThrottlingException', 400],
  ['ProvisionedThroughputExceededException', 400],
  ['AccessDeniedException', 400],
  ['ResourceNotFoundException', 400],
  ['InternalServerError', 500],
] as const;

const item = (version: number, nextAt = 0) => ({
  id: { S: 'salescaling' },
  nextAt: { N: String(nextAt) },
  rate: { N: '5' },
  rateAt: { N: '0' },
  pausedUntil: { N: '0' },
  version: { N: String(version) },
});
const bucket = (clock = { t: 1_000_000 }) =>
  new TokenBucket({
    client: new DynamoDBClient({ region: 'eu-west-1' }),
    tableName: TABLE,
    ratePerSecond: 5,
    now: () => clock.t,
    sleep: async () => undefined,
  });

describe('the budget table failing', () => {
  it.each(failures)(
    'on %s, the bucket says the table is unavailable, by the error name only',
    async (name, status) => {
      dynamoDb.on(GetItemCommand).rejects(awsError(name, status));
      const error = await bucket()
        .acquire()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(BudgetUnavailableError);
      expect((error as Error).message).toBe(`the budget table could not be used (${name})`);
      expect((error as Error).message).not.toContain(TABLE);
      expect(dynamoDb).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, ConsistentRead: true });
    },
  );

  it.each(failures)(
    'on %s at the lease write, the request is still sent, on the static share, and counted',
    async (name, status) => {
      vi.stubEnv('AWS_REGION', 'eu-west-1');
      const added = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
      const warned = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
      dynamoDb.on(GetItemCommand).resolves({ Item: item(3) });
      dynamoDb.on(UpdateItemCommand).rejects(awsError(name, status));
      const limiter = limiterFromEnv({
        SALESCALING_BUDGET_TABLE_NAME: TABLE,
        SALESCALING_BUDGET_RPS: '5',
        SALESCALING_MAX_RPS: '1000',
      });
      const sent: string[] = [];
      await limiter.schedule(async () => sent.push('first'));
      await limiter.schedule(async () => sent.push('second'));
      expect(sent).toEqual(['first', 'second']);
      expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, { TableName: TABLE });
      expect(added.mock.calls.map(([metric, , value]) => [metric, value])).toEqual([
        ['BudgetFallback', 1],
        ['BudgetFallback', 1],
      ]);
      // One warning when it switched, naming the error, never the table or the request.
      expect(warned).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(warned.mock.calls)).toContain(name);
      expect(JSON.stringify(warned.mock.calls)).not.toContain(TABLE);
    },
  );
});

describe('a conditional failure on the budget item (a lost race)', () => {
  it('is not a table failure: the write is retried on the item DynamoDB returned, and the slot granted', async () => {
    dynamoDb.on(GetItemCommand).resolves({ Item: item(3) });
    dynamoDb
      .on(UpdateItemCommand)
      .rejectsOnce(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: item(4, 1_000_100),
        }),
      )
      .resolves({});
    const slot = await bucket().acquire();
    expect(slot).toBeGreaterThanOrEqual(1_000_100);
    expect(dynamoDb).toHaveReceivedCommandTimes(UpdateItemCommand, 2);
    // The second write is conditioned on the version DynamoDB returned, not the one first read.
    expect(dynamoDb.commandCalls(UpdateItemCommand)[1]?.args[0].input).toMatchObject({
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: expect.objectContaining({ ':version': { N: '4' } }),
    });
  });

  it('that never ends is the table unavailable (the request falls back, not waits forever)', async () => {
    dynamoDb.on(GetItemCommand).resolves({ Item: item(3) });
    dynamoDb.on(UpdateItemCommand).callsFake(() => {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: item(3),
      });
    });
    await expect(bucket().acquire()).rejects.toThrow(/^the budget item stayed contended for \d+ writes$/);
  });
});
