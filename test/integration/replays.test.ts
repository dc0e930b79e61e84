import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import type { LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { putOnBus } from '#test/support/bus.ts';
import { eventually } from '#test/support/eventually.ts';
import { quiet } from '#test/support/quiet.ts';

/**
 * Item 4 of issue 15: replays change nothing. The whole system on loopback: commands put with the
 * AWS SDK (with the time a producer gives them), leads posted to `POST /leads`, replays asked of the
 * local archive over HTTP (`POST /_local/replay`), Salescaling calls counted at the emulator.
 */
let emulator: RunningEmulator;
let admin: EmulatorAdmin;
let runtime: LocalRuntime;
let bus: EventBridgeClient;
/** Everything the functions wrote (their error logs and EMF metrics). */
const output: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: ['replay-key'] });
  admin = new EmulatorAdmin(emulator.url);
  runtime = await startQuietRuntime({
    platform: {
      salescalingBaseUrl: emulator.apiBaseUrl,
      salescalingMaxRps: 500,
      salescalingMaxConcurrency: 8,
    },
    secrets: { salescalingApiKey: 'replay-key' },
    queueRetryDelayMs: 20,
    functionOutput: (line) => output.push(line),
  });
  bus = new EventBridgeClient({
    endpoint: runtime.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
});
beforeEach(async () => {
  await quiet(runtime);
  await admin.reset();
  runtime.bus.events.clear();
  runtime.bus.archive.clear();
  runtime.deadLetters.clear();
  runtime.invocations.clear();
  output.length = 0;
});
afterAll(async () => {
  await runtime?.close();
  await emulator?.close();
});

async function put(detailType: string, detail: unknown, time: Date): Promise<string> {
  const result = await putOnBus(bus, detailType, detail, { time });
  expect(result.FailedEntryCount).toBe(0);
  return result.eventId;
}

async function replay(from: Date, to: Date): Promise<{ replayName: string; replayed: number }> {
  const response = await fetch(`${runtime.url}/_local/replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: from.toISOString(), to: to.toISOString() }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { replayName: string; replayed: number };
}

const queue = (name: string) => {
  const found = runtime.queues.find((q) => q.name === name);
  if (!found) throw new Error(`no queue ${name}`);
  return found;
};
/** Until the queue has handled every message sent to it (depth counts those in flight). */
const drained = (name: string) =>
  eventually(
    () => queue(name).depth,
    (depth) => depth === 0,
  );

type Applied = { outcome: string; opportunityId?: string; newerCommandId?: string };
const appliedFor = (commandId: string) =>
  runtime.bus.events
    .list()
    .filter((e) => e['detail-type'] === 'Command Applied')
    .filter((e) => (e.detail as { commandId: string }).commandId === commandId);
const outcomeOf = (commandId: string) =>
  eventually(
    () => appliedFor(commandId)[0],
    (e) => e !== undefined,
  ).then((e) => e?.detail as Applied);
const invocationsOf = (name: string) =>
  runtime.invocations.list().filter((i) => i.functionName === name && i.outcome === 'ok').length;
const calls = async () => (await admin.stats()).requests.total;
const seconds = (n: number) => n * 1000;
/** Whole seconds, as EventBridge keeps an event's time. */
const ago = (s: number) => new Date(Math.floor(Date.now() / 1000) * 1000 - seconds(s));

/** Each test its own deal: the function's newest-command marks outlive the emulator's reset. */
let deal = 0;
beforeEach(async () => {
  deal += 1;
});
const upsert = (amount: number, nextStep: string) => ({
  schemaVersion: 1,
  contact: { email: 'ada@analytical.example.com', firstName: 'Ada' },
  company: { domain: 'analytical.example.com', name: 'Analytical Engines' },
  opportunity: { name: `Engines – renewal ${deal}`, amount, nextStep },
});

/** An upsert at T1, a newer one at T2, both applied; what the CRM then holds. */
async function olderThenNewer() {
  const t1 = ago(120);
  const t2 = ago(60);
  const older = await put('Upsert Opportunity', upsert(10_000, 'Demo'), t1);
  const first = await outcomeOf(older);
  const newer = await put('Upsert Opportunity', upsert(20_000, 'Sign'), t2);
  expect(await outcomeOf(newer)).toMatchObject({ outcome: 'applied', opportunityId: first.opportunityId });
  const opportunityId = first.opportunityId ?? '';
  expect(emulator.store.getOpportunity(opportunityId)).toMatchObject({ amount: 20_000, nextStep: 'Sign' });
  return { t1, t2, older, newer, opportunityId };
}

describe('a replay of archived commands', () => {
  it('of the window holding an older and a newer upsert: no call, no duplicate, the newer values kept', async () => {
    const { t1, t2, older, newer, opportunityId } = await olderThenNewer();
    const before = await calls();
    const invocations = invocationsOf('integration-commands');

    const { replayName, replayed } = await replay(
      new Date(t1.getTime() - 1000),
      new Date(t2.getTime() + 1000),
    );
    // Both commands and what the product published about them, each sent again as it was.
    expect(replayed).toBeGreaterThanOrEqual(2);
    const again = runtime.bus.events.list().filter((e) => e['replay-name'] === replayName);
    expect(again.filter((e) => e['detail-type'] === 'Upsert Opportunity').map((e) => [e.id, e.time])).toEqual(
      [
        [older, t1.toISOString().replace('.000Z', 'Z')],
        [newer, t2.toISOString().replace('.000Z', 'Z')],
      ],
    );
    await drained('integration-commands-commands');
    // Delivered and handled (answered from the idempotency records), not merely queued.
    expect(invocationsOf('integration-commands')).toBeGreaterThan(invocations);

    expect(await calls()).toBe(before);
    expect(emulator.store.getOpportunity(opportunityId)).toMatchObject({ amount: 20_000, nextStep: 'Sign' });
    expect(emulator.store.stats()).toMatchObject({ opportunities: 1, contacts: 1, companies: 1 });
    // Recognised by their ids: each command was announced once, when it was first applied.
    expect(appliedFor(older)).toHaveLength(1);
    expect(appliedFor(newer)).toHaveLength(1);
    expect(runtime.deadLetters.list()).toEqual([]);
  });

  it('of only the older upsert: nothing reverted, no call', async () => {
    const { t1, opportunityId } = await olderThenNewer();
    const before = await calls();
    const { replayName } = await replay(t1, new Date(t1.getTime() + 1000));
    const commands = runtime.bus.events
      .list()
      .filter((e) => e['replay-name'] === replayName && e['detail-type'] === 'Upsert Opportunity');
    expect(commands).toHaveLength(1);
    await drained('integration-commands-commands');
    expect(await calls()).toBe(before);
    expect(emulator.store.getOpportunity(opportunityId)).toMatchObject({ amount: 20_000, nextStep: 'Sign' });
  });

  it('is not archived again: a second replay of the same window sends the same events, no more', async () => {
    const { t1, t2 } = await olderThenNewer();
    const window = [new Date(t1.getTime() - 1000), new Date(t2.getTime() + 1000)] as const;
    const first = await replay(...window);
    await drained('integration-commands-commands');
    const second = await replay(...window);
    expect(second.replayed).toBe(first.replayed);
    await drained('integration-commands-commands');
  });
});

describe('an older command sent again under a new event id, after a newer one', () => {
  it('is superseded: announced with the newer command, not applied, no Salescaling call', async () => {
    const { t1, newer, opportunityId } = await olderThenNewer();
    const before = await calls();
    const resent = await put('Upsert Opportunity', upsert(10_000, 'Demo'), t1);
    expect(await outcomeOf(resent)).toEqual({
      schemaVersion: 1,
      commandId: resent,
      command: 'Upsert Opportunity',
      outcome: 'superseded',
      newerCommandId: newer,
    });
    expect(await calls()).toBe(before);
    expect(emulator.store.getOpportunity(opportunityId)).toMatchObject({ amount: 20_000, nextStep: 'Sign' });
    // A metric a person can alarm on or plot.
    await eventually(
      () => output.filter((line) => line.includes('"CommandsSuperseded"')),
      (lines) => lines.length > 0,
    );
  });

  it('an older close, link or unlink by id after an upsert resolved to that opportunity is superseded too', async () => {
    const { t1, newer, opportunityId } = await olderThenNewer();
    const contact = emulator.store.createContact({ email: 'babbage@analytical.example.com' });
    const before = await calls();
    const link = await put('Link Contact', { schemaVersion: 1, opportunityId, contactId: contact.id }, t1);
    expect(await outcomeOf(link)).toMatchObject({
      outcome: 'superseded',
      opportunityId,
      newerCommandId: newer,
    });
    const close = await put(
      'Close Opportunity',
      { schemaVersion: 1, opportunityId, outcome: 'lost', reason: 'Stale' },
      t1,
    );
    expect(await outcomeOf(close)).toMatchObject({ outcome: 'superseded', opportunityId });
    expect(await calls()).toBe(before);
    expect(emulator.store.getOpportunity(opportunityId)?.status).toBe('open');
    // A newer one is applied.
    const closeNow = await put(
      'Close Opportunity',
      { schemaVersion: 1, opportunityId, outcome: 'won', reason: 'Signed' },
      ago(0),
    );
    expect(await outcomeOf(closeNow)).toMatchObject({ outcome: 'applied', opportunityId });
  });

  it('a command dated more than five minutes ahead is dead-lettered naming its time, with no call', async () => {
    const before = await calls();
    const id = await put('Upsert Opportunity', upsert(1, 'Later'), new Date(Date.now() + seconds(3600)));
    await eventually(
      () => runtime.deadLetters.list(),
      (list) => list.length === 1,
    );
    expect(runtime.deadLetters.list()[0]?.reason).toMatch(/dated in the future.*"field":"time"/);
    expect(runtime.deadLetters.list()[0]?.payload).toMatchObject({ id });
    expect(await calls()).toBe(before);
  });
});

describe('a replayed Lead Received', () => {
  it('creates no second contact, company or opportunity, and makes no call', async () => {
    const from = ago(1);
    const response = await fetch(`${runtime.url}/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        submissionId: randomUUID(),
        email: 'grace@cobol.example.org',
        firstName: 'Grace',
        lastName: 'Hopper',
        company: 'Cobol Industries',
        website: 'cobol.example.org',
        opportunity: 'Cobol – 40 seats',
        amount: 48_000,
      }),
    });
    expect(response.status).toBe(202);
    // A new lead's three result events are put side by side: wait for all of them.
    await eventually(
      () =>
        ['Opportunity Created', 'Contact Linked', 'Company Linked'].map(
          (type) => runtime.bus.events.list().filter((e) => e['detail-type'] === type).length,
        ),
      (counts) => counts.every((n) => n === 1),
    );
    const stats = emulator.store.stats();
    const before = await calls();
    const original = runtime.bus.events.list().find((e) => e['detail-type'] === 'Lead Received');

    const { replayName } = await replay(from, new Date(Date.now() + 2000));
    const replayedLead = runtime.bus.events
      .list()
      .find((e) => e['replay-name'] === replayName && e['detail-type'] === 'Lead Received');
    expect(replayedLead?.id).toBe(original?.id);
    await drained('lead-sync-lead-received');
    // It was delivered and handled: a second lead-sync invocation, answered from the idempotency record.
    expect(invocationsOf('lead-sync')).toBe(2);

    expect(await calls()).toBe(before);
    expect(emulator.store.stats()).toEqual(stats);
    expect(stats).toMatchObject({ opportunities: 1, contacts: 1, companies: 1 });
    // Published once, when the lead was first synced (the replay sends that event again, as it was).
    const created = runtime.bus.events.list().filter((e) => e['detail-type'] === 'Opportunity Created');
    expect(created.filter((e) => !e['replay-name'])).toHaveLength(1);
  });
});

describe('POST /_local/replay', () => {
  it('answers 400 naming the field for a window that is not one', async () => {
    const ask = (body: string) =>
      fetch(`${runtime.url}/_local/replay`, { method: 'POST', body }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { errors?: { field: string }[] },
      }));
    expect(await ask('{"from":"2026-11-28T10:00:00Z","to":"2026-11-28T09:00:00Z"}')).toMatchObject({
      status: 400,
      body: { errors: [{ field: 'to' }] },
    });
    expect(await ask('{"from":"yesterday","to":"2026-11-28T09:00:00Z"}')).toMatchObject({
      status: 400,
      body: { errors: [{ field: 'from' }] },
    });
    expect((await ask('not json')).status).toBe(400);
    expect(
      (await ask('{"from":"2026-11-28T09:00:00Z","to":"2026-11-28T10:00:00Z","name":"no spaces"}')).body,
    ).toMatchObject({ errors: [{ field: 'name' }] });
  });
});
