import 'aws-sdk-client-mock-vitest/extend';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Context, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { leadIdempotency, processRecord } from '#functions/lead-sync/process.ts';
import type { SyncResult } from '#functions/lead-sync/sync.ts';
import { idempotencyStore } from '#shared/idempotency/store.ts';
import type { Lead } from '#shared/leads/lead.ts';

/**
 * The idempotency store on DynamoDB (Powertools' DynamoDBPersistenceLayer, as idempotencyStore
 * builds it for a table name) when its conditional writes fail: the real DynamoDB client, `send`
 * replaced. What Powertools does with each answer decides whether a command runs twice.
 */
const dynamo = mockClient(DynamoDBClient);
beforeEach(() => dynamo.reset());

/** A stored item as DynamoDB returns it (strings, numbers, maps: all an idempotency record holds). */
function marshall(item: Record<string, unknown>): Record<string, AttributeValue> {
  const value = (v: unknown): AttributeValue =>
    typeof v === 'number'
      ? { N: String(v) }
      : typeof v === 'string'
        ? { S: v }
        : { M: marshall(v as Record<string, unknown>) };
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, value(v)]));
}

/** As the handlers do: Powertools sizes the in-progress lease from the invocation's remaining time. */
function withContext(config: IdempotencyConfig): IdempotencyConfig {
  config.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 } as Context);
  return config;
}

const inSeconds = (s: number) => Math.floor(Date.now() / 1000) + s;

/** The conditional put refused because a record exists; DynamoDB returns it (ALL_OLD) when asked. */
const existing = (item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    ...(item ? { Item: marshall(item) } : {}),
  });

const dynamoError = (name: string) =>
  new DynamoDBServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: name });

function idempotentApply() {
  const calls: string[] = [];
  const apply = makeIdempotent(
    async (event: { id: string }) => {
      calls.push(event.id);
      return { outcome: 'applied', id: event.id };
    },
    {
      persistenceStore: idempotencyStore('idempotency-table'),
      config: withContext(new IdempotencyConfig({ eventKeyJmesPath: 'id' })),
    },
  );
  return { apply, calls };
}

describe('the idempotency store on DynamoDB, when the conditional put fails', () => {
  it('returns the stored result, without running the function, for a completed record', async () => {
    dynamo
      .on(PutItemCommand)
      .rejects(
        existing({ id: 'k', status: 'COMPLETED', expiration: inSeconds(3600), data: { outcome: 'stored' } }),
      );
    const { apply, calls } = idempotentApply();
    await expect(apply({ id: 'evt-1' })).resolves.toEqual({ outcome: 'stored' });
    expect(calls).toEqual([]);
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'idempotency-table',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(dynamo).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it('reads the record (consistently) when the failure carries none, and returns its result', async () => {
    dynamo.on(PutItemCommand).rejects(existing());
    dynamo.on(GetItemCommand).resolves({
      Item: marshall({
        id: 'k',
        status: 'COMPLETED',
        expiration: inSeconds(3600),
        data: { outcome: 'read' },
      }),
    });
    const { apply, calls } = idempotentApply();
    await expect(apply({ id: 'evt-1' })).resolves.toEqual({ outcome: 'read' });
    expect(calls).toEqual([]);
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, { ConsistentRead: true });
  });

  it('throws IdempotencyAlreadyInProgressError for a record in progress: the record is retried, not run beside it', async () => {
    dynamo.on(PutItemCommand).rejects(
      existing({
        id: 'k',
        status: 'INPROGRESS',
        expiration: inSeconds(3600),
        in_progress_expiration: Date.now() + 60_000,
      }),
    );
    const { apply, calls } = idempotentApply();
    await expect(apply({ id: 'evt-1' })).rejects.toThrow(IdempotencyAlreadyInProgressError);
    expect(calls).toEqual([]);
  });

  it('throws, without running the function, when the put is throttled', async () => {
    dynamo.on(PutItemCommand).rejects(dynamoError('ProvisionedThroughputExceededException'));
    const { apply, calls } = idempotentApply();
    await expect(apply({ id: 'evt-1' })).rejects.toThrow(IdempotencyPersistenceLayerError);
    expect(calls).toEqual([]);
  });

  it('runs the function and stores its result when no record exists', async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).resolves({});
    const { apply, calls } = idempotentApply();
    await expect(apply({ id: 'evt-1' })).resolves.toEqual({ outcome: 'applied', id: 'evt-1' });
    expect(calls).toEqual(['evt-1']);
    expect(dynamo).toHaveReceivedCommandOnce(UpdateItemCommand);
  });

  it('throws when the result cannot be stored after the function ran: the queue retries, and the in-progress record stops a second run until it expires', async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).rejects(dynamoError('ThrottlingException'));
    const { apply, calls } = idempotentApply();
    await expect(apply({ id: 'evt-1' })).rejects.toThrow(IdempotencyPersistenceLayerError);
    expect(calls).toEqual(['evt-1']);
    expect(dynamo).not.toHaveReceivedCommand(DeleteItemCommand);
  });
});

describe('lead-sync processRecord over the DynamoDB store, when a record with the same key exists', () => {
  const lead = {
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
  const record = {
    messageId: 'm-1',
    body: JSON.stringify({ detail: lead }),
    attributes: { ApproximateReceiveCount: '1' },
  } as unknown as SQSRecord;

  async function run(stored: Record<string, unknown>) {
    dynamo.on(PutItemCommand).rejects(existing(stored));
    const letters: string[] = [];
    const synced: Lead[] = [];
    const sync = makeIdempotent(
      async (l: Lead): Promise<SyncResult> => {
        synced.push(l);
        throw new Error('never: a record exists');
      },
      {
        persistenceStore: idempotencyStore('idempotency-table'),
        config: withContext(new IdempotencyConfig(leadIdempotency)),
      },
    );
    const result = await processRecord(record, {
      sync,
      deadLetter: async (_, reason) => {
        letters.push(reason);
      },
      maxReceiveCount: 5,
    });
    return { result, letters, synced };
  }

  it('dead-letters, saying so, when the stored record is of a different lead (payload hash differs)', async () => {
    const { letters, synced } = await run({
      id: 'k',
      status: 'COMPLETED',
      expiration: inSeconds(3600),
      validation: 'a-different-hash',
      data: {},
    });
    expect(letters).toEqual(['A different lead already used submission id "sub-1" from form']);
    expect(synced).toEqual([]);
  });

  it('dead-letters, saying so, when the stored record has no payload hash to compare', async () => {
    const { letters, synced } = await run({
      id: 'k',
      status: 'COMPLETED',
      expiration: inSeconds(3600),
      data: {},
    });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toContain('was synced before lead content was compared');
    expect(synced).toEqual([]);
  });
});
