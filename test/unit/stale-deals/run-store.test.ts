import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { dynamoDbRunStore, type SweepRun, type SweepRunStore } from '#functions/stale-deals/run-store.ts';
import { SandboxIdentities } from '#local/runtime/aws-auth.ts';
import { type LocalDynamoDb, startLocalDynamoDb } from '#local/runtime/dynamodb.ts';
import { MemoryRunStore } from './memory-run-store.ts';

/**
 * The run store's contract, against DynamoDB (dynalite over HTTP, the real SDK) and against the
 * in-memory fake the sweep's unit tests use, so the fake cannot drift from what DynamoDB does.
 */
let dynamo: LocalDynamoDb;
const identities = new SandboxIdentities();
const asStaleDeals = identities.issue('stale-deals');
beforeAll(async () => {
  // The local DynamoDB answers only the sweep's own sandbox credentials.
  dynamo = await startLocalDynamoDb({
    declarations: catalog,
    region: 'us-east-1',
    prefix: 'test',
    identities,
  });
});
afterAll(async () => {
  await dynamo?.close();
});

let counter = 0;
const newRun = (fields: Partial<SweepRun> = {}): SweepRun => ({
  runId: `1f3a9c2e-0000-4000-8000-${String(++counter).padStart(12, '0')}`,
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
  ...fields,
});

const stores: Array<[string, () => SweepRunStore]> = [
  ['in memory', () => new MemoryRunStore()],
  [
    'on DynamoDB (dynalite)',
    () => {
      const client = new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: 'us-east-1',
        credentials: asStaleDeals,
      });
      return dynamoDbRunStore(DynamoDBDocumentClient.from(client), dynamo.tableNames.sweepRunsTable);
    },
  ],
];

describe.each(stores)('the run store %s', (_, makeStore) => {
  it('creates a run once and reads it back as written', async () => {
    const store = makeStore();
    const run = newRun({ totals: { ...newRun().totals, skipped: { 'excluded-name': 2 } } });
    await store.create(run);
    expect(await store.get(run.runId)).toEqual(run);
    await expect(store.create(run)).rejects.toThrow();
    expect(await store.get('1f3a9c2e-0000-4000-8000-ffffffffffff')).toBeUndefined();
  });

  it('lets one invocation claim a due step, and no one else until its lease runs out', async () => {
    const store = makeStore();
    const run = newRun({ step: 2 });
    await store.create(run);
    expect(await store.claim(run.runId, 1, { id: 'a', until: 2000 }, 1000)).toBe(false); // not due
    expect(await store.claim(run.runId, 2, { id: 'a', until: 2000 }, 1000)).toBe(true);
    expect(await store.claim(run.runId, 2, { id: 'b', until: 3000 }, 1500)).toBe(false); // held
    expect(await store.claim(run.runId, 2, { id: 'c', until: 4000 }, 2001)).toBe(true); // ran out
    expect(await store.get(run.runId)).toMatchObject({ leaseId: 'c', leaseUntil: 4000 });
  });

  it('writes only for the holder of the expected step, and releases the lease', async () => {
    const store = makeStore();
    const run = newRun();
    await store.create(run);
    await store.claim(run.runId, 0, { id: 'a', until: 2000 }, 1000);
    expect(await store.update(run.runId, { step: 0, leaseId: 'b' }, { page: 9 })).toBe(false);
    expect(await store.update(run.runId, { step: 1, leaseId: 'a' }, { page: 9 })).toBe(false);
    expect(await store.update(run.runId, { step: 0, leaseId: null }, { page: 9 })).toBe(false);
    expect(
      await store.update(run.runId, { step: 0, leaseId: 'a' }, { page: 2, step: 1, leaseId: null }),
    ).toBe(true);
    const moved = await store.get(run.runId);
    expect(moved).toMatchObject({ page: 2, step: 1 });
    expect(moved?.leaseId).toBeUndefined();
    expect(moved?.leaseUntil).toBeUndefined();
    // The step given back, as after a failed publish: only while nobody claimed it.
    expect(await store.update(run.runId, { step: 1, leaseId: null }, { step: 0 })).toBe(true);
    expect(await store.get(run.runId)).toMatchObject({ step: 0 });
  });

  it('never writes to a finished run', async () => {
    const store = makeStore();
    const run = newRun({ leaseId: 'a', leaseUntil: 2000 });
    await store.create(run);
    expect(
      await store.update(run.runId, { step: 0, leaseId: 'a' }, { status: 'completed', leaseId: null }),
    ).toBe(true);
    expect(await store.claim(run.runId, 0, { id: 'b', until: 5000 }, 3000)).toBe(false);
    expect(await store.update(run.runId, { step: 0, leaseId: null }, { page: 5 })).toBe(false);
    expect(await store.get(run.runId)).toMatchObject({ status: 'completed', page: 1 });
  });

  it('refuses negative totals', async () => {
    const store = makeStore();
    const run = newRun({ leaseId: 'a', leaseUntil: 2000 });
    await store.create(run);
    await expect(
      store.update(run.runId, { step: 0, leaseId: 'a' }, { totals: { ...run.totals, closed: -100_000 } }),
    ).rejects.toThrow(/closed/);
    await expect(store.create(newRun({ totals: { ...run.totals, scanned: -1 } }))).rejects.toThrow(/scanned/);
    expect(await store.get(run.runId)).toMatchObject({ totals: { closed: 0 } });
  });
});
