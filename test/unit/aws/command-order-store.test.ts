import 'aws-sdk-client-mock-vitest/extend';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbCommandOrderStore } from '#shared/idempotency/command-order.ts';

/**
 * The commands' ordering marks (the replay guard, docs/replays.md) when DynamoDB refuses the
 * conditional write: only a failed condition means "superseded"; anything else is thrown, so the
 * command is retried, never skipped as if a newer one had been applied. The real document client,
 * `send` replaced. (The marks against DynamoDB itself: test/unit/idempotency/command-order.test.ts.)
 */
const documents = mockClient(DynamoDBDocumentClient);
beforeEach(() => documents.reset());

const store = () =>
  new DynamoDbCommandOrderStore({
    tableName: 'idempotency',
    expirySeconds: 104 * 86_400,
    client: new DynamoDBClient({ region: 'eu-west-1' }),
  });
const mark = { time: Date.parse('2026-11-28T10:00:00Z'), commandId: 'older' };
const awsError = (name: string) =>
  new DynamoDBServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: name });

describe('an ordering mark, when DynamoDB refuses the write', () => {
  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'AccessDeniedException'])(
    'throws on %s: the command is retried, not taken as superseded',
    async (name) => {
      documents.on(UpdateCommand).rejects(awsError(name));
      await expect(store().advance('opportunity#42', mark)).rejects.toMatchObject({ name });
      expect(documents).not.toHaveReceivedCommand(GetCommand);
    },
  );

  it('on a failed condition, answers superseded, naming the newer command DynamoDB returned', async () => {
    documents.on(UpdateCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: { commandTime: { N: String(mark.time + 60_000) }, commandId: { S: 'newer' } },
      }),
    );
    expect(await store().advance('opportunity#42', mark)).toEqual({
      advanced: false,
      newer: { time: mark.time + 60_000, commandId: 'newer' },
    });
    expect(documents).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { id: 'command-order#opportunity#42' },
      ConditionExpression: 'attribute_not_exists(#time) OR #time <= :time OR #ttl < :now',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('on a failed condition without the item, reads it consistently', async () => {
    documents
      .on(UpdateCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    documents.on(GetCommand).resolves({ Item: { commandTime: mark.time + 1_000, commandId: 'newer' } });
    expect(await store().advance('opportunity#42', mark)).toEqual({
      advanced: false,
      newer: { time: mark.time + 1_000, commandId: 'newer' },
    });
    expect(documents).toHaveReceivedCommandWith(GetCommand, {
      Key: { id: 'command-order#opportunity#42' },
      ConsistentRead: true,
    });
  });

  it('advances when the write succeeds', async () => {
    documents.on(UpdateCommand).resolves({});
    expect(await store().advance('opportunity#42', mark)).toEqual({ advanced: true });
  });
});
