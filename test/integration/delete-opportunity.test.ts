import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DELETE_REFUSED } from '#functions/integration-commands/commands.ts';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import type { LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { putOnBus } from '#test/support/bus.ts';
import { eventually } from '#test/support/eventually.ts';

/**
 * Delete Opportunity as a producer sends it (PutEvents on the local bus), applied by the deployed
 * integration-commands handler against the emulator: refused where the stage does not allow it (the
 * default), applied where it does, and a no-change when the opportunity is already gone.
 */
let emulator: RunningEmulator;
let admin: EmulatorAdmin;
const KEY = 'delete-key';

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: [KEY] });
  admin = new EmulatorAdmin(emulator.url);
});
afterAll(() => emulator?.close());

/** One runtime with the stage's `commands` setting as given (none: the default). */
function withRuntime(commandsConfig?: { allowDelete: boolean }) {
  const context = {} as { runtime: LocalRuntime; bus: EventBridgeClient };
  beforeAll(async () => {
    context.runtime = await startQuietRuntime({
      platform: {
        salescalingBaseUrl: emulator.apiBaseUrl,
        salescalingMaxRps: 500,
        salescalingMaxConcurrency: 8,
      },
      secrets: { salescalingApiKey: KEY },
      ...(commandsConfig ? { settings: { commandsConfig: JSON.stringify(commandsConfig) } } : {}),
      queueRetryDelayMs: 20,
    });
    context.bus = new EventBridgeClient({
      endpoint: context.runtime.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
  });
  beforeEach(async () => {
    await admin.reset();
    context.runtime.bus.events.clear();
    context.runtime.deadLetters.clear();
  });
  afterAll(() => context.runtime?.close());

  const put = async (detail: unknown) => (await putOnBus(context.bus, 'Delete Opportunity', detail)).eventId;
  const published = (type: string, commandId: string) =>
    context.runtime.bus.events
      .list()
      .filter(
        (e) => e['detail-type'] === type && (e.detail as { commandId?: string }).commandId === commandId,
      )
      .map((e) => e.detail as Record<string, unknown>);
  const answer = (commandId: string) =>
    eventually(
      () => [...published('Command Applied', commandId), ...published('Command Rejected', commandId)],
      (list) => list.length > 0,
    ).then((list) => list[0]);
  return { context, put, published, answer };
}

const seed = () =>
  emulator.store.createOpportunity({
    name: 'Duplicate deal',
    status: 'open',
    amount: 1200,
    closeProbability: 30,
  });

describe('Delete Opportunity where the stage does not allow it (the default)', () => {
  const { context, put, published, answer } = withRuntime();

  it('is rejected and dead-lettered, naming the setting; nothing is deleted, Salescaling is never called', async () => {
    const opportunity = seed();
    const id = await put({ schemaVersion: 1, opportunityId: opportunity.id, reason: 'Duplicate' });
    expect(await answer(id)).toMatchObject({ command: 'Delete Opportunity', reason: DELETE_REFUSED });
    expect(published('Command Applied', id)).toEqual([]);
    const [letter] = await eventually(
      () => context.runtime.deadLetters.list(),
      (list) => list.length === 1,
    );
    expect(letter?.reason).toContain('commands.allowDelete');
    expect(emulator.store.getOpportunity(opportunity.id)).toBeDefined();
    expect((await admin.stats()).requests.total).toBe(0);
  });
});

describe('Delete Opportunity where the stage allows it', () => {
  const { context, put, published, answer } = withRuntime({ allowDelete: true });

  it('deletes, and says so with what the opportunity held', async () => {
    const opportunity = seed();
    const id = await put({ schemaVersion: 1, opportunityId: opportunity.id, reason: 'Duplicate' });
    expect(await answer(id)).toMatchObject({ outcome: 'applied', opportunityId: opportunity.id });
    expect(emulator.store.getOpportunity(opportunity.id)).toBeUndefined();
    expect(published('Opportunity Deleted', id)).toEqual([
      {
        schemaVersion: 1,
        opportunityId: opportunity.id,
        reason: 'Duplicate',
        before: expect.objectContaining({ name: 'Duplicate deal', status: 'open', amount: 1200 }),
        commandId: id,
      },
    ]);
    expect(context.runtime.deadLetters.list()).toEqual([]);
  });

  it('an opportunity already gone is success with no change, and nothing is deleted twice', async () => {
    const opportunity = seed();
    await answer(await put({ schemaVersion: 1, opportunityId: opportunity.id, reason: 'Duplicate' }));
    const again = await put({ schemaVersion: 1, opportunityId: opportunity.id, reason: 'Duplicate' });
    expect(await answer(again)).toMatchObject({ outcome: 'no-change', opportunityId: opportunity.id });
    expect(published('Opportunity Deleted', again)).toEqual([]);
    expect(await admin.requests({ operation: 'deleteOpportunity' })).toHaveLength(1);
    expect(context.runtime.deadLetters.list()).toEqual([]);
  });

  it('an invalid one is rejected naming its fields, before any call', async () => {
    const id = await put({ schemaVersion: 1, opportunityId: 'not-an-id' });
    const rejected = await answer(id);
    expect(((rejected?.errors ?? []) as Array<{ field: string }>).map((e) => e.field).sort()).toEqual([
      'opportunityId',
      'reason',
    ]);
    await eventually(
      () => context.runtime.deadLetters.list(),
      (list) => list.length === 1,
    );
    expect((await admin.stats()).requests.total).toBe(0);
  });
});

/**
 * Item 4 of issue 15 for the delete: a replay of any archived window (same ids, same times) recreates
 * nothing it deleted and deletes nothing twice; an older command sent after the delete is superseded.
 */
describe('Delete Opportunity and replays', () => {
  const { context, published, answer } = withRuntime({ allowDelete: true });
  const putAt = async (detailType: string, detail: unknown, time: Date) =>
    (await putOnBus(context.bus, detailType, detail, { time })).eventId;
  /** Whole seconds, as EventBridge keeps an event's time. */
  const ago = (s: number) => new Date(Math.floor(Date.now() / 1000) * 1000 - s * 1000);
  const drained = () =>
    eventually(
      () => context.runtime.queues.find((q) => q.name === 'integration-commands-commands')?.depth,
      (depth) => depth === 0,
    );
  const handled = () =>
    context.runtime.invocations
      .list()
      .filter((i) => i.functionName === 'integration-commands' && i.outcome === 'ok').length;

  it('replaying the window of an upsert and the delete after it recreates nothing and calls nothing; an older command after it is superseded', async () => {
    const t1 = ago(120);
    const t2 = ago(60);
    const created = await putAt(
      'Upsert Opportunity',
      {
        schemaVersion: 1,
        contact: { email: 'grace@compilers.example.com', firstName: 'Grace' },
        opportunity: { name: `Compilers – pilot ${t1.getTime()}`, amount: 5_000 },
      },
      t1,
    );
    const { opportunityId } = (await answer(created)) as { opportunityId: string };
    expect(emulator.store.getOpportunity(opportunityId)).toBeDefined();
    const deleted = await putAt(
      'Delete Opportunity',
      { schemaVersion: 1, opportunityId, reason: 'Duplicate' },
      t2,
    );
    expect(await answer(deleted)).toMatchObject({ outcome: 'applied', opportunityId });
    expect(emulator.store.getOpportunity(opportunityId)).toBeUndefined();
    const before = (await admin.stats()).requests.total;
    const invocations = handled();

    const response = await fetch(`${context.runtime.url}/_local/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        from: new Date(t1.getTime() - 1000).toISOString(),
        to: new Date(t2.getTime() + 1000).toISOString(),
      }),
    });
    expect(response.status).toBe(200);
    const { replayName } = (await response.json()) as { replayName: string };
    const replayed = context.runtime.bus.events.list().filter((e) => e['replay-name'] === replayName);
    expect(replayed.map((e) => e.id)).toEqual(expect.arrayContaining([created, deleted]));
    await drained();
    // Delivered and answered from the idempotency records, not merely queued.
    expect(handled()).toBeGreaterThan(invocations);
    expect((await admin.stats()).requests.total).toBe(before);
    expect(emulator.store.stats()).toMatchObject({ opportunities: 0 });
    expect(published('Opportunity Deleted', deleted)).toHaveLength(1);

    // An older close, sent again under a new id after the delete: superseded by it, no call.
    const close = await putAt(
      'Close Opportunity',
      { schemaVersion: 1, opportunityId, outcome: 'lost', reason: 'Stale' },
      t1,
    );
    expect(await answer(close)).toMatchObject({ outcome: 'superseded', newerCommandId: deleted });
    expect((await admin.stats()).requests.total).toBe(before);
    expect(context.runtime.deadLetters.list()).toEqual([]);
  });
});
