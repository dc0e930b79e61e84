import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyStore } from '#shared/idempotency/store.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';

/**
 * The idempotency store as deployed (Powertools' DynamoDB layer) on a real DynamoDB API (dynalite),
 * as the local runtime now runs it.
 */
let dynamoDb: TestDynamoDb;
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
  await dynamoDb.createTable('idempotency');
});
afterAll(() => dynamoDb?.close());

function once<R>(work: (event: { id: string }) => Promise<R>) {
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: 3600 });
  config.registerLambdaContext({ getRemainingTimeInMillis: () => 30_000 } as Context);
  return makeIdempotent(work, { persistenceStore: idempotencyStore('idempotency', dynamoDb.client), config });
}

describe('the idempotency store on DynamoDB', () => {
  it('keeps a result with an unset optional field, and returns it again without running twice', async () => {
    let runs = 0;
    const apply = once(async (event: { id: string }) => {
      runs++;
      return { outcome: 'superseded', commandId: event.id, newerCommandId: undefined, list: [1, undefined] };
    });
    const first = await apply({ id: 'cmd-1' });
    const again = await apply({ id: 'cmd-1' });
    expect(runs).toBe(1);
    expect(again).toEqual({ outcome: 'superseded', commandId: 'cmd-1', list: [1, null] });
    expect(first).toMatchObject({ outcome: 'superseded', commandId: 'cmd-1' });
  });

  it('shares records between processes (two stores, one table), as Lambda instances do', async () => {
    let runs = 0;
    const work = async (event: { id: string }) => {
      runs++;
      return { id: event.id };
    };
    await once(work)({ id: 'cmd-2' });
    expect(await once(work)({ id: 'cmd-2' })).toEqual({ id: 'cmd-2' });
    expect(runs).toBe(1);
  });
});
