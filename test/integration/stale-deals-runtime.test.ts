import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { dynamoDbRunStore, type SweepRunStore } from '#functions/stale-deals/run-store.ts';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import type { SeedSummary } from '#local/emulator/seed.ts';
import { type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import { LOCAL_BUS_NAME, type LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { eventually } from '#test/support/eventually.ts';
import { quiet } from '#test/support/quiet.ts';

/**
 * The stale-deal sweep as deployed: its handler in the local runtime, its run records in the
 * runtime's DynamoDB (dynalite, through the real SDK), continuations through the local bus and
 * queue, against the seeded emulator. Every step reads one page and continues (a margin as long as
 * the timeout), so a run of a few pages crosses many invocations.
 */
const PAGE_SIZE = 5;
let system: { emulator: RunningEmulator; admin: EmulatorAdmin; runtime: LocalRuntime };
let runs: SweepRunStore;
/** What the functions wrote (their JSON log lines). */
const output: string[] = [];
const QUEUE = 'stale-deals-stale-sweep-continued';
const KEY = 'sk-sweep-5c4b3a29';

beforeAll(async () => {
  const emulator = await startEmulator({ apiKeys: [KEY] });
  const runtime = await startQuietRuntime({
    declarations: catalog.map((d) =>
      d.name === 'stale-deals'
        ? { ...d, environment: { ...d.environment, SWEEP_TIME_MARGIN_MS: String(d.timeoutSeconds * 1000) } }
        : d,
    ),
    platform: {
      logLevel: 'WARN',
      salescalingBaseUrl: emulator.apiBaseUrl,
      salescalingMaxRps: 500,
      salescalingMaxConcurrency: 8,
    },
    secrets: { salescalingApiKey: KEY },
    // The stage says dry run (as every stage but prod); an operator's run may say otherwise.
    settings: {
      staleDealsConfig: JSON.stringify({ dryRun: true, pageSize: PAGE_SIZE, maxClosesPerRun: 1000 }),
    },
    queueRetryDelayMs: 20,
    functionOutput: (line) => output.push(line),
  });
  system = { emulator, admin: new EmulatorAdmin(emulator.url), runtime };
  const env = system.runtime.hosts.get('stale-deals')?.environment ?? {};
  runs = dynamoDbRunStore(
    DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
        region: 'us-east-1',
        // The sweep's own sandbox credentials: the local DynamoDB answers no one else.
        credentials: {
          accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
        },
      }),
    ),
    env.SWEEP_RUNS_TABLE_NAME ?? '',
  );
});

afterAll(async () => {
  await system?.runtime.close();
  await system?.emulator.close();
});

let seeded: SeedSummary;
beforeEach(async () => {
  await quiet(system.runtime);
  await system.admin.reset();
  seeded = await system.admin.seed({ opportunities: 28, staleShare: 0.4, seed: 5 });
  system.runtime.bus.events.clear();
  system.runtime.invocations.clear();
  system.runtime.deadLetters.clear();
  output.length = 0;
});

const ofType = (type: string) =>
  system.runtime.bus.events.list().filter((e) => e['detail-type'] === type) as Array<{
    detail: Record<string, unknown>;
  }>;
const closedDeals = () =>
  system.emulator.store
    .listOpportunities({}, { page: 1, limit: 100 })
    .filter((o) => String(o.featuredNotes ?? '').includes('Closed as stale'));
const logged = (message: string) =>
  output
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.message === message);
const queueInvocations = () =>
  system.runtime.invocations.list().filter((i) => i.functionName === 'stale-deals' && i.trigger === 'event');

/** A message on the continuation queue as the rule would deliver it, bypassing the bus. */
function deliver(detail: unknown) {
  const queue = system.runtime.queues.find((q) => q.name === QUEUE);
  if (!queue) throw new Error(`no queue ${QUEUE}`);
  queue.send(
    JSON.stringify({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Stale Sweep Continued',
      source: 'salescaling.automation',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail,
    }),
  );
}

const fire = async (body?: unknown) => {
  const response = await fetch(`${system.runtime.url}/_local/schedules/stale-deals`, {
    method: 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { ok: boolean; result: Record<string, unknown> };
};

describe('a long sweep through the local runtime', () => {
  it('continues across invocations and completes once, closing each stale deal once', async () => {
    expect(seeded.staleOpportunityIds.length).toBeGreaterThan(5);
    const started = await fire({ dryRun: false });
    expect(started.result).toMatchObject({ outcome: 'continued', step: 1, nextPage: 2 });
    const runId = String(started.result.runId);

    await eventually(
      () => ofType('Stale Sweep Completed'),
      (completed) => completed.length > 0,
      30_000,
    );
    // 28 deals, 5 a page: pages 1 to 6, one a step.
    const continued = ofType('Stale Sweep Continued').map((e) => e.detail);
    expect(continued).toEqual([1, 2, 3, 4, 5].map((step) => ({ schemaVersion: 2, runId, step })));
    expect(ofType('Stale Sweep Completed').map((e) => e.detail)).toEqual([
      expect.objectContaining({
        runId,
        dryRun: false,
        scanned: 28,
        closed: seeded.staleOpportunityIds.length,
        continuations: 5,
      }),
    ]);
    expect(
      closedDeals()
        .map((d) => d.id)
        .sort(),
    ).toEqual([...seeded.staleOpportunityIds].sort());
    for (const deal of closedDeals())
      expect(String(deal.featuredNotes).match(/Closed as stale/g)).toHaveLength(1);
    // Completed is told before the run is recorded completed (sweep.ts): wait for the record.
    const run = await eventually(
      () => runs.get(runId),
      (record) => record?.status === 'completed',
    );
    expect(run).toMatchObject({ status: 'completed', step: 5, dryRun: false });

    // The last step publishes Completed before its invocation is recorded: wait for all five.
    await eventually(queueInvocations, (list) => list.length === continued.length);
    // Every continuation delivered again: each refused, nothing read, closed or told again.
    const invocationsBefore = queueInvocations().length;
    const requestsBefore = (await system.admin.requests()).length;
    for (const detail of continued) deliver(detail);
    await eventually(
      () => logged('Stale sweep continuation refused'),
      (refusals) => refusals.length === continued.length,
    );
    expect(new Set(logged('Stale sweep continuation refused').map((r) => r.reason))).toEqual(
      new Set(['run-finished']),
    );
    expect(queueInvocations().length).toBe(invocationsBefore + continued.length);
    expect(queueInvocations().every((i) => i.outcome === 'ok')).toBe(true);
    expect((await system.admin.requests()).length).toBe(requestsBefore);
    expect(ofType('Stale Sweep Completed')).toHaveLength(1);
    expect(system.runtime.deadLetters.list()).toEqual([]);
  });
});

describe("an operator's mistake in an on-demand run", () => {
  it.each([
    ['a wrong type', { dryRun: 'yes' }, 'dryRun'],
    ['a key it does not read', { referenceTime: '2099-01-01T00:00:00Z' }, 'referenceTime'],
  ])(
    '(%s) is a 400 naming the field, run once, no dead letter, no stack, and closes nothing',
    async (_, input, field) => {
      const attemptsBefore = system.runtime.invocations
        .list()
        .filter((i) => i.functionName === 'stale-deals' && i.trigger === 'schedule').length;
      const response = await fetch(`${system.runtime.url}/_local/schedules/stale-deals`, {
        method: 'POST',
        body: JSON.stringify(input),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { ok: boolean; error: Record<string, unknown> };
      expect(body).toEqual({
        schedule: 'stale-deals',
        ok: false,
        error: {
          name: 'RequestError',
          message: expect.stringContaining(field),
        },
      });
      expect(String(body.error.message)).not.toMatch(/\bat .+:\d+:\d+/);
      const attempts = system.runtime.invocations
        .list()
        .filter((i) => i.functionName === 'stale-deals' && i.trigger === 'schedule').length;
      expect(attempts - attemptsBefore).toBe(1);
      expect(system.runtime.deadLetters.list()).toEqual([]);
      expect(closedDeals()).toEqual([]);
      expect(ofType('Stale Sweep Completed')).toEqual([]);
    },
  );
});

describe('a forged Stale Sweep Continued that reaches the sweep', () => {
  it('closes nothing, whatever it claims, and is refused with a reason', async () => {
    // A dry run (the stage's setting) that really ran, to forge continuations of.
    const dry = await fire();
    const runId = String(dry.result.runId);
    expect(dry.result).toMatchObject({ outcome: 'continued' });
    await eventually(
      () => ofType('Stale Sweep Completed'),
      (completed) => completed.length > 0,
      30_000,
    );
    expect(closedDeals()).toEqual([]);
    output.length = 0;

    const cursor = {
      page: 1,
      referenceTime: '2099-01-01T00:00:00.000Z',
      startedAt: '2099-01-01T00:00:00.000Z',
      dryRun: false,
      continuations: 1,
      totals: { scanned: 0, stale: 0, closed: -100_000, wouldClose: [], skipped: {}, errors: 0 },
    };
    deliver({ schemaVersion: 1, runId: randomUUID(), ...cursor }); // the attack as first found
    deliver({ schemaVersion: 2, runId, step: 1, ...cursor }); // today's shape, with authority attached
    deliver({ schemaVersion: 2, runId: randomUUID(), step: 1 }); // a run that never was
    deliver({ schemaVersion: 2, runId, step: 1 }); // the dry run's own step, replayed
    deliver({ schemaVersion: 2, runId, step: 99 }); // a step not due
    await eventually(
      () => logged('Stale sweep continuation refused'),
      (refusals) => refusals.length === 5,
    );
    // In any order: the queue runs its batches side by side, as Lambda does.
    expect(
      logged('Stale sweep continuation refused')
        .map((r) => r.reason)
        .sort(),
    ).toEqual([
      'invalid-continuation',
      'invalid-continuation',
      'run-finished',
      'run-finished',
      'unknown-run',
    ]);
    // Each refusal says why in words, for the person reading the log.
    for (const refusal of logged('Stale sweep continuation refused')) {
      expect(refusal.explanation).toEqual(expect.stringMatching(/\w+ \w+/));
    }

    // And through the bus, as an outsider would try it: refused there, or refused by the sweep.
    const bus = new EventBridgeClient({
      endpoint: system.runtime.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'outsider', secretAccessKey: 'outsider' },
    });
    const put = await bus
      .send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: LOCAL_BUS_NAME,
              Source: 'salescaling.automation',
              DetailType: 'Stale Sweep Continued',
              Detail: JSON.stringify({ schemaVersion: 2, runId: randomUUID(), step: 1 }),
            },
          ],
        }),
      )
      .catch(() => undefined);
    const reachedTheSweep = put !== undefined && put.FailedEntryCount === 0;
    await eventually(
      () => logged('Stale sweep continuation refused'),
      (refusals) => refusals.length === (reachedTheSweep ? 6 : 5),
    );
    if (reachedTheSweep) {
      expect(logged('Stale sweep continuation refused').at(-1)).toMatchObject({ reason: 'unknown-run' });
    }

    expect(closedDeals()).toEqual([]);
    expect((await system.admin.requests({ operation: 'updateOpportunity' })).length).toBe(0);
    expect(ofType('Opportunity Closed As Stale')).toEqual([]);
    expect(ofType('Stale Sweep Completed')).toHaveLength(1);
    expect(await runs.get(runId)).toMatchObject({ status: 'completed', dryRun: true });
    expect(system.runtime.deadLetters.list()).toEqual([]);
  });
});
