import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCommand, CommandRejected, closeTime } from '#functions/integration-commands/commands.ts';
import { toLead } from '#functions/lead-ingest/mapping.ts';
import { fromFlatObject } from '#functions/lead-ingest/providers.ts';
import { syncLead } from '#functions/lead-sync/sync.ts';
import { staleDealsConfigSchema } from '#functions/stale-deals/config.ts';
import { sweep } from '#functions/stale-deals/sweep.ts';
import { LOCAL_BUS_NAME, type LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { type CommandOrderStore, DynamoDbCommandOrderStore } from '#shared/idempotency/command-order.ts';
import { opportunityStatusesSchema } from '#shared/salescaling/assumptions.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';
import { TEST_API_KEY, useEmulator } from '#test/support/emulator.ts';
import { eventually } from '#test/support/eventually.ts';
import { MemoryRunStore } from '#test/unit/stale-deals/memory-run-store.ts';

/**
 * Salescaling's closeDate is the actual close date (CLOSE_DATE_MEANS): the product writes it when it
 * closes a deal, never from a form's target date. Checked in what the emulator stored.
 */
const ctx = useEmulator();
const statuses = opportunityStatusesSchema.parse({});
const publisher: EventPublisher = { publish: async () => ({ eventId: 'e' }) };
/** The commands' ordering guard (docs/replays.md), on dynalite; each test works on deals of its own. */
let dynamoDb: TestDynamoDb;
let orderStore: CommandOrderStore;
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
  const tableName = await dynamoDb.createTable('idempotency');
  orderStore = new DynamoDbCommandOrderStore({ tableName, expirySeconds: 3600, client: dynamoDb.client });
});
afterAll(() => dynamoDb?.close());
const NOW = new Date('2026-11-28T10:00:00.000Z');
const daysBefore = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();

describe('the stale sweep', () => {
  it('sets closeDate to the time it closed the deal, replacing an expected date', async () => {
    const stale = ctx.emulator.store.createOpportunity(
      { name: 'Idle deal', status: statuses.open, closeDate: daysBefore(40) },
      { createdAt: daysBefore(90), updatedAt: daysBefore(60) },
    );
    const active = ctx.emulator.store.createOpportunity(
      { name: 'Active deal', status: statuses.open, closeDate: '2027-03-01T00:00:00.000Z' },
      { createdAt: daysBefore(5), updatedAt: daysBefore(1) },
    );
    const closedAt = new Date(NOW.getTime() + 90_000);
    const result = await sweep(
      { kind: 'schedule' },
      {
        client: ctx.client(),
        publisher,
        runs: new MemoryRunStore(),
        config: staleDealsConfigSchema.parse({ dryRun: false }),
        statuses,
        // The run starts at NOW; the close happens later: the close date is the close's own time.
        now: (() => {
          let calls = 0;
          return () => (calls++ === 0 ? NOW : closedAt);
        })(),
        remainingMs: () => 600_000,
      },
    );
    expect(result).toMatchObject({ outcome: 'completed', totals: { closed: 1 } });
    expect(ctx.emulator.store.getOpportunity(stale.id)).toMatchObject({
      status: statuses.lost,
      closeDate: closedAt.toISOString(),
    });
    // A deal left open keeps the date a person set.
    expect(ctx.emulator.store.getOpportunity(active.id)).toMatchObject({
      status: statuses.open,
      closeDate: '2027-03-01T00:00:00.000Z',
    });
  });
});

describe('Close Opportunity', () => {
  const close = (opportunityId: string, time: string | undefined, now = NOW) =>
    applyCommand(
      {
        id: crypto.randomUUID(),
        'detail-type': 'Close Opportunity',
        time,
        detail: { schemaVersion: 1, opportunityId, outcome: 'won', reason: 'Invoice paid' },
      },
      { client: ctx.client(), publisher, settings: statuses, now: () => now, orderStore },
    );

  it("sets closeDate to the command's own time (a late delivery or a replay is dated when sent)", async () => {
    const deal = ctx.emulator.store.createOpportunity({
      name: 'Deal',
      status: statuses.open,
      closeDate: '2027-06-30T00:00:00.000Z',
    });
    const sent = daysBefore(2);
    expect(await close(deal.id, sent)).toMatchObject({ outcome: 'applied' });
    expect(ctx.emulator.store.getOpportunity(deal.id)).toMatchObject({
      status: statuses.won,
      closeDate: sent,
    });
    // Closed already: a later command changes neither the status nor the date.
    expect(await close(deal.id, daysBefore(1))).toMatchObject({ outcome: 'no-change' });
    expect(ctx.emulator.store.getOpportunity(deal.id)?.closeDate).toBe(sent);
  });

  it('uses the clock for a time ahead of it (within the 5 minutes a command may be ahead)', async () => {
    const deal = ctx.emulator.store.createOpportunity({ name: 'Deal ahead', status: statuses.open });
    await close(deal.id, new Date(NOW.getTime() + 120_000).toISOString());
    expect(ctx.emulator.store.getOpportunity(deal.id)?.closeDate).toBe(NOW.toISOString());
    expect(closeTime({ time: '2026-11-27T23:59:59+01:00' }, { now: () => NOW }).toISOString()).toBe(
      '2026-11-27T22:59:59.000Z',
    );
    for (const time of [undefined, 'not a time', '2099-01-01T00:00:00Z']) {
      expect(closeTime({ time }, { now: () => NOW }).toISOString(), String(time)).toBe(NOW.toISOString());
    }
  });

  it('refuses, closing nothing, a command whose time is missing, unreadable or far ahead (the ordering guard)', async () => {
    for (const time of [undefined, 'not a time', '2099-01-01T00:00:00Z']) {
      const deal = ctx.emulator.store.createOpportunity({ name: `Deal ${time}`, status: statuses.open });
      await expect(close(deal.id, time), String(time)).rejects.toThrow(CommandRejected);
      expect(ctx.emulator.store.getOpportunity(deal.id)?.status, String(time)).toBe(statuses.open);
    }
  });
});

describe('Upsert Opportunity', () => {
  it('still writes a closeDate the command gives (a writable field)', async () => {
    const outcome = await applyCommand(
      {
        id: crypto.randomUUID(),
        'detail-type': 'Upsert Opportunity',
        time: NOW.toISOString(),
        detail: {
          schemaVersion: 1,
          contact: { email: 'ada@analytical.example.com' },
          opportunity: { name: 'Renewal', closeDate: '2026-12-31T00:00:00Z' },
        },
      },
      { client: ctx.client(), publisher, settings: statuses, now: () => NOW, orderStore },
    );
    expect(ctx.emulator.store.getOpportunity(outcome.opportunityId ?? '')).toMatchObject({
      status: statuses.open,
      closeDate: '2026-12-31T00:00:00.000Z',
    });
  });
});

describe('a lead with a target date', () => {
  const lead = (fields: Record<string, string>) =>
    toLead(fromFlatObject('form', { email: 'grace@cobol.example.org', company: 'Cobol', ...fields }), {
      mapping: {},
      submissionIdFallback: `sha256:${crypto.randomUUID()}`,
      receivedAt: NOW,
    });

  it.each([
    ['Target date', 'We need it live.'],
    ['Close date', 'We need it live.'],
    ['Deadline', undefined],
  ])('"%s" goes into the description, never into closeDate', async (label, message) => {
    const l = lead({ [label]: '2027-01-31', ...(message ? { message } : {}) });
    expect(l.opportunity).toMatchObject({ targetDate: '2027-01-31T00:00:00.000Z' });
    expect(l.opportunity).not.toHaveProperty('closeDate');
    const { opportunityId } = await syncLead(l, ctx.client(), { statusOnCreate: statuses.open });
    const stored = ctx.emulator.store.getOpportunity(opportunityId);
    expect(stored?.closeDate).toBeNull();
    expect(stored?.description).toBe(
      message
        ? `${message}\n\nTarget date (from the form): 2027-01-31`
        : 'Target date (from the form): 2027-01-31',
    );
  });

  it('reads the closeDate of a Lead Received archived before the change as a target date', async () => {
    const l = lead({});
    const archived = { ...l, opportunity: { ...l.opportunity, closeDate: '2027-02-01T00:00:00.000Z' } };
    const { opportunityId } = await syncLead(archived, ctx.client(), { statusOnCreate: statuses.open });
    expect(ctx.emulator.store.getOpportunity(opportunityId)).toMatchObject({
      closeDate: null,
      description: 'Target date (from the form): 2027-02-01',
    });
  });
});

describe("through the deployed handler (local runtime, real SDK), with an account's own statuses", () => {
  const mine = { open: 'In progress', won: 'Closed won', lost: 'Closed lost' };
  let runtime: LocalRuntime;
  beforeAll(async () => {
    runtime = await startQuietRuntime({
      platform: { salescalingBaseUrl: ctx.emulator.apiBaseUrl, salescalingMaxRps: 500 },
      secrets: { salescalingApiKey: TEST_API_KEY },
      settings: { opportunityStatuses: JSON.stringify(mine) },
      queueRetryDelayMs: 20,
    });
  });
  afterAll(async () => {
    await runtime?.close();
  });

  it("a Close Opportunity writes the stage's won status, dated by the event's Time", async () => {
    const deal = ctx.emulator.store.createOpportunity({ name: 'Deal', status: mine.open });
    const bus = new EventBridgeClient({
      endpoint: runtime.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const sent = new Date('2026-11-25T08:30:00.000Z');
    await bus.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: LOCAL_BUS_NAME,
            Source: 'crm.example',
            DetailType: 'Close Opportunity',
            Time: sent,
            Detail: JSON.stringify({
              schemaVersion: 1,
              opportunityId: deal.id,
              outcome: 'won',
              reason: 'Paid',
            }),
          },
        ],
      }),
    );
    const stored = await eventually(
      () => ctx.emulator.store.getOpportunity(deal.id),
      (o) => o?.status !== mine.open,
    );
    expect(stored).toMatchObject({ status: mine.won, closeProbability: 100, closeDate: sent.toISOString() });
  });
});
