import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandOrderStore, DynamoDbCommandOrderStore } from '#shared/idempotency/command-order.ts';

/**
 * The newest-command marks' contract, on DynamoDB (dynalite over HTTP, the real SDK, a table keyed
 * as the idempotency table): the one store, in AWS and in the local runtime.
 */
const server = dynalite({ createTableMs: 0 });
let client: DynamoDBClient;
const TABLE = 'idempotency';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});
afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const HOUR = 3600;
let clock = Date.parse('2026-11-28T09:00:00Z');
const now = () => clock;
let keys = 0;
const stores: Array<[string, () => CommandOrderStore]> = [
  [
    'on DynamoDB (dynalite)',
    () => new DynamoDbCommandOrderStore({ tableName: TABLE, expirySeconds: HOUR, client, now }),
  ],
];

describe.each(stores)('the command order marks %s', (_, makeStore) => {
  it('move forward, refuse an older time naming the newer command, and let an equal time through', async () => {
    const store = makeStore();
    const key = `opportunity#k${++keys}`;
    expect(await store.advance(key, { time: 2000, commandId: 'b' })).toEqual({ advanced: true });
    expect(await store.advance(key, { time: 1000, commandId: 'a' })).toEqual({
      advanced: false,
      newer: { time: 2000, commandId: 'b' },
    });
    expect(await store.advance(key, { time: 2000, commandId: 'b' })).toEqual({ advanced: true });
    expect(await store.advance(key, { time: 3000, commandId: 'c' })).toEqual({ advanced: true });
    expect(await store.advance(key, { time: 2500, commandId: 'b2' })).toMatchObject({ advanced: false });
  });

  it('keep each key apart', async () => {
    const store = makeStore();
    expect(await store.advance(`k${++keys}`, { time: 2000, commandId: 'b' })).toEqual({ advanced: true });
    expect(await store.advance(`k${++keys}`, { time: 1000, commandId: 'a' })).toEqual({ advanced: true });
  });

  it('forget a mark once it expires, as the idempotency records do', async () => {
    const store = makeStore();
    const key = `k${++keys}`;
    await store.advance(key, { time: 2000, commandId: 'b' });
    clock += HOUR * 1000 - 1000;
    expect(await store.advance(key, { time: 1000, commandId: 'a' })).toMatchObject({ advanced: false });
    clock += 2000;
    expect(await store.advance(key, { time: 1000, commandId: 'a' })).toEqual({ advanced: true });
  });
});

describe('the DynamoDB marks', () => {
  it('are items of the idempotency table under their own prefix, with its TTL attribute', async () => {
    const store = new DynamoDbCommandOrderStore({ tableName: TABLE, expirySeconds: HOUR, client, now });
    await store.advance('opportunity#abc', { time: 5000, commandId: 'evt-5' });
    const { Item } = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'command-order#opportunity#abc' } } }),
    );
    expect(Item).toEqual({
      id: { S: 'command-order#opportunity#abc' },
      commandTime: { N: '5000' },
      commandId: { S: 'evt-5' },
      expiration: { N: String(Math.floor(clock / 1000) + HOUR) },
    });
  });

  it('never let the older of two racing commands win', async () => {
    const store = new DynamoDbCommandOrderStore({ tableName: TABLE, expirySeconds: HOUR, client, now });
    const key = `race${++keys}`;
    const times = Array.from({ length: 20 }, (_, i) => (i * 7919) % 20);
    await Promise.all(times.map((time) => store.advance(key, { time, commandId: `c${time}` })));
    expect(await store.advance(key, { time: 18, commandId: 'late' })).toEqual({
      advanced: false,
      newer: { time: 19, commandId: 'c19' },
    });
  });
});
