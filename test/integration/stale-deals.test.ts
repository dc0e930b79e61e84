import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { type StaleDealsConfigInput, staleDealsConfigSchema } from '#functions/stale-deals/config.ts';
import { dynamoDbRunStore, type SweepRunStore } from '#functions/stale-deals/run-store.ts';
import { sweep } from '#functions/stale-deals/sweep.ts';
import { SandboxIdentities } from '#local/runtime/aws-auth.ts';
import { type LocalDynamoDb, startLocalDynamoDb } from '#local/runtime/dynamodb.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { opportunityStatusesSchema } from '#shared/salescaling/assumptions.ts';
import { SalescalingClient } from '#shared/salescaling/client.ts';
import { createRequestLimiter } from '#shared/salescaling/limiter.ts';
import { TEST_API_KEY, useEmulator } from '#test/support/emulator.ts';

/**
 * The stale-deal sweep against the emulator over HTTP, with a recording publisher and its run
 * records in DynamoDB (dynalite, the real SDK).
 */
const ctx = useEmulator();
let dynamo: LocalDynamoDb;
const identities = new SandboxIdentities();
const asStaleDeals = identities.issue('stale-deals');
let runs: SweepRunStore;
beforeAll(async () => {
  // The local DynamoDB answers only the sweep's own sandbox credentials.
  dynamo = await startLocalDynamoDb({
    declarations: catalog,
    region: 'us-east-1',
    prefix: 'sweep-test',
    identities,
  });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: asStaleDeals,
  });
  runs = dynamoDbRunStore(DynamoDBDocumentClient.from(client), dynamo.tableNames.sweepRunsTable);
});
afterAll(async () => {
  await dynamo?.close();
});
const scheduled = { kind: 'schedule' } as const;
const NOW = new Date('2026-11-28T05:00:00.000Z'); // 06:00 in Madrid
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();

let published: Array<{ detailType: string; detail: Record<string, unknown> }>;
const publisher: EventPublisher = {
  publish: async (detailType, detail) => {
    published.push({ detailType, detail: detail as Record<string, unknown> });
    return { eventId: String(published.length) };
  },
};
const ofType = (type: string) => published.filter((e) => e.detailType === type).map((e) => e.detail);

const config = (overrides: Partial<StaleDealsConfigInput> = {}) =>
  staleDealsConfigSchema.parse({
    dryRun: false,
    pageSize: 4,
    excludePriorities: ['High'],
    excludeNamePatterns: ['renewal'],
    excludeIntegrationTypes: ['crm'],
    ...overrides,
  });

let staleIds: string[];
let keptIds: string[];

/** A known account: 7 stale deals among 13, and one of each reason not to close. */
function seedAccount() {
  const store = ctx.emulator.store;
  const make = (name: string, fields: Record<string, unknown>, updatedDaysAgo: number) =>
    store.createOpportunity(
      { name, status: 'open', amount: 1000, ...fields },
      { createdAt: daysAgo(updatedDaysAgo + 10), updatedAt: daysAgo(updatedDaysAgo) },
    ).id;
  staleIds = [
    make('Idle 31 days', {}, 31),
    make('Idle 90 days', { featuredNotes: 'Met at the expo' }, 90),
    make('Idle 45 days', {}, 45),
    make('Idle 200 days', {}, 200),
    make('Idle 30 days', {}, 30),
    make('Overdue 20 days', { closeDate: daysAgo(20) }, 3),
    make('Overdue 15 days', { closeDate: daysAgo(15) }, 1),
  ];
  const crm = make('Owned by the CRM', {}, 60);
  store.addIntegration(crm, { integrationType: 'crm', integrationName: 'HubSpot', integrationId: 'x' });
  keptIds = [
    make('Won long ago', { status: 'won' }, 300),
    make('Big and idle', { priority: 'High' }, 100),
    make('ACME Renewal', {}, 100),
    crm,
    make('Fresh', {}, 2),
    make('Overdue within grace', { closeDate: daysAgo(10) }, 2),
  ];
}

const deps = (overrides: Partial<Parameters<typeof sweep>[1]> = {}) => ({
  client: ctx.client(),
  publisher,
  runs,
  config: config(),
  statuses: opportunityStatusesSchema.parse({}),
  now: () => NOW,
  remainingMs: () => 600_000,
  ...overrides,
});

const snapshot = () => ctx.emulator.store.listOpportunities({}, { page: 1, limit: 100 });

beforeEach(() => {
  published = [];
  seedAccount();
});

describe('a sweep', () => {
  it('closes exactly the stale deals, with an audit line, and tells the story', async () => {
    const before = snapshot();
    const result = await sweep(scheduled, deps());
    expect(result).toMatchObject({ outcome: 'completed', capReached: false });
    for (const id of staleIds) {
      const deal = ctx.emulator.store.getOpportunity(id);
      expect(deal).toMatchObject({ status: 'lost', closeProbability: 0, amount: 1000 });
      expect(String(deal?.featuredNotes)).toMatch(
        /\[2026-11-28T05:00:00Z\] Closed as stale by salescaling-automation \(run [0-9a-f]{8}\): /,
      );
    }
    expect(ctx.emulator.store.getOpportunity(staleIds[1] ?? '')?.featuredNotes).toMatch(
      /^Met at the expo\n\[/,
    );
    for (const id of keptIds)
      expect(ctx.emulator.store.getOpportunity(id)).toEqual(before.find((o) => o.id === id));

    const closedEvents = ofType('Opportunity Closed As Stale');
    expect(closedEvents.map((e) => e.opportunityId).sort()).toEqual([...staleIds].sort());
    expect(closedEvents[0]).toMatchObject({
      before: { status: 'open' },
      after: { status: 'lost', closeProbability: 0 },
    });
    expect(ofType('Stale Sweep Completed')).toEqual([
      expect.objectContaining({
        dryRun: false,
        scanned: 13,
        stale: 7,
        closed: 7,
        errors: 0,
        capReached: false,
        skipped: { 'excluded-priority': 1, 'excluded-name': 1, 'excluded-integration': 1 },
      }),
    ]);
  });

  it('in dry run reports what it would close and changes nothing', async () => {
    const before = snapshot();
    await sweep(scheduled, deps({ config: config({ dryRun: true }) }));
    expect(snapshot()).toEqual(before);
    expect(await ctx.admin.requests({ operation: 'updateOpportunity' })).toEqual([]);
    expect(ofType('Opportunity Closed As Stale')).toEqual([]);
    const [completed] = ofType('Stale Sweep Completed');
    expect(completed).toMatchObject({ dryRun: true, stale: 7, closed: 0 });
    expect([...((completed?.wouldClose ?? []) as string[])].sort()).toEqual([...staleIds].sort());
  });

  it('stops at its cap and says so', async () => {
    const result = await sweep(scheduled, deps({ config: config({ maxClosesPerRun: 3 }) }));
    expect(result).toMatchObject({ outcome: 'completed', capReached: true });
    expect(staleIds.filter((id) => ctx.emulator.store.getOpportunity(id)?.status === 'lost')).toHaveLength(3);
    expect(ofType('Stale Sweep Completed')).toEqual([
      expect.objectContaining({ closed: 3, capReached: true }),
    ]);
  });

  it('under 429 and 5xx mid-sweep, and run again, closes each deal once', async () => {
    await ctx.admin.scriptFaults([
      { fault: 'error', status: 503, when: 'after', operation: 'updateOpportunity', times: 2 },
    ]);
    await ctx.admin.setFaults({ errorRate: 0.15, rateLimitRate: 0.1, retryAfterSeconds: 0, seed: 21 });
    const client = ctx.client({ retries: 6 });
    await sweep(scheduled, deps({ client }));
    await sweep(scheduled, deps({ client }));
    await ctx.admin.clearFaults();
    for (const id of staleIds) {
      const notes = String(ctx.emulator.store.getOpportunity(id)?.featuredNotes);
      expect(notes.match(/Closed as stale/g)).toHaveLength(1);
    }
    expect(ofType('Opportunity Closed As Stale')).toHaveLength(7);
    const [, second] = ofType('Stale Sweep Completed');
    expect(second).toMatchObject({ closed: 0, stale: 0 });
    expect((await ctx.admin.requests()).some((r) => r.fault !== null)).toBe(true);
  });

  it('continues in a new invocation when time runs short, at the right page, doing nothing twice', async () => {
    let pagesRead = 0;
    const first = await sweep(
      scheduled,
      deps({
        remainingMs: () => (pagesRead++ < 1 ? 600_000 : 1_000),
      }),
    );
    expect(first).toMatchObject({ outcome: 'continued', step: 1, page: 2 });
    const [continued] = ofType('Stale Sweep Continued');
    // The event names the run and the step, nothing else: the rest is in the run record.
    expect(continued).toEqual({ schemaVersion: 2, runId: first.runId, step: 1 });
    expect(await runs.get(first.runId)).toMatchObject({
      status: 'running',
      step: 1,
      page: 2,
      dryRun: false,
      totals: { scanned: 4 },
    });
    expect((await ctx.admin.requests({ operation: 'listOpportunities' })).length).toBe(1);

    const second = await sweep({ kind: 'continuation', runId: first.runId, step: 1 }, deps());
    expect(second).toMatchObject({ outcome: 'completed', steps: 2 });
    const pages = (await ctx.admin.requests({ operation: 'listOpportunities' })).map(
      (r) => new URL(`http://x${r.path}`).pathname,
    );
    expect(pages).toHaveLength(1 + 3); // page 1, then pages 2, 3 and 4 (13 deals, 4 a page)
    expect(ofType('Stale Sweep Completed')).toEqual([
      expect.objectContaining({ scanned: 13, closed: 7, continuations: 1, runId: first.runId }),
    ]);
    expect(ofType('Opportunity Closed As Stale')).toHaveLength(7);
    expect(await runs.get(first.runId)).toMatchObject({ status: 'completed', totals: { closed: 7 } });

    // The same continuation again: refused, and nothing read or written.
    const before = (await ctx.admin.requests()).length;
    expect(await sweep({ kind: 'continuation', runId: first.runId, step: 1 }, deps())).toMatchObject({
      outcome: 'refused',
      reason: 'run-finished',
    });
    expect((await ctx.admin.requests()).length).toBe(before);
  });

  it('leaves alone a deal edited between the read and the close', async () => {
    const edited = staleIds[2] ?? '';
    // A person edits the deal right after the sweep read its page.
    class RacingClient extends SalescalingClient {
      override async getOpportunity(id: string, options?: { signal?: AbortSignal }) {
        if (id === edited) {
          const current = ctx.emulator.store.getOpportunity(id);
          ctx.emulator.store.replaceOpportunity(id, {
            ...(current as object),
            name: 'Revived by a human',
            status: 'open',
          });
        }
        return super.getOpportunity(id, options);
      }
    }
    const racing = new RacingClient({
      baseUrl: ctx.emulator.apiBaseUrl,
      apiKey: async () => TEST_API_KEY,
      limiter: createRequestLimiter({ requestsPerSecond: 1000 }),
    });
    await sweep(scheduled, deps({ client: racing }));
    expect(ctx.emulator.store.getOpportunity(edited)).toMatchObject({
      name: 'Revived by a human',
      status: 'open',
    });
    expect(ofType('Stale Sweep Completed')).toEqual([
      expect.objectContaining({ closed: 6, skipped: expect.objectContaining({ 'changed-since-read': 1 }) }),
    ]);
  });
});
