import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyOrReject,
  type CommandEvent,
  MAX_COMMAND_CLOCK_SKEW_MS,
  orderKey,
} from '#functions/integration-commands/commands.ts';
import { events } from '#shared/events/catalog.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { DynamoDbCommandOrderStore } from '#shared/idempotency/command-order.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';

/**
 * The ordering guard alone: an injected clock and the DynamoDB store (dynalite, a table per test), a fake client that keeps one opportunity's
 * contact links and counts every write, and a publisher that keeps what it is given.
 */
const OPPORTUNITY = '5516cd47-2bd0-4f4f-adc2-22524e54ba4d';
const CONTACT = '0f0c6a3e-8f0e-4d6b-9f5e-2a1d3c4b5e6f';
const T0 = Date.parse('2026-11-28T09:00:00Z');
let dynamoDb: TestDynamoDb;
let tables = 0;
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
});
afterAll(() => dynamoDb?.close());

async function harness() {
  const links = new Set<string>();
  const writes: string[] = [];
  const client = {
    listOpportunityContacts: async () => ({ items: [...links].map((contactId) => ({ contactId })) }),
    linkContact: async (_: string, contactId: string) => {
      writes.push(`link ${contactId}`);
      links.add(contactId);
    },
    unlinkContact: async (_: string, contactId: string) => {
      writes.push(`unlink ${contactId}`);
      links.delete(contactId);
    },
  } as unknown as SalescalingClient;
  const published: Array<{ detailType: string; detail: Record<string, unknown> }> = [];
  const publisher: EventPublisher = {
    async publish(detailType, detail) {
      published.push({ detailType, detail: detail as Record<string, unknown> });
      return { eventId: `e-${published.length}` };
    },
  };
  let clock = T0;
  const tableName = await dynamoDb.createTable(`idempotency-${++tables}`);
  const store = new DynamoDbCommandOrderStore({
    tableName,
    expirySeconds: 3600,
    client: dynamoDb.client,
    now: () => clock,
  });
  const deps = {
    client,
    publisher,
    settings: { open: 'open', won: 'won', lost: 'lost' },
    orderStore: store,
    now: () => new Date(clock),
    warn: () => undefined,
  };
  const applied = () =>
    published.filter((p) => p.detailType === 'Command Applied').map((p) => p.detail.outcome);
  return { deps, writes, links, published, applied, setClock: (t: number) => (clock = t) };
}

const command = (id: string, detailType: 'Link Contact' | 'Unlink Contact', at: number): CommandEvent => ({
  id,
  'detail-type': detailType,
  detail: { schemaVersion: 1, opportunityId: OPPORTUNITY, contactId: CONTACT },
  time: new Date(at).toISOString(),
});

describe('commands on one opportunity are ordered by their time', () => {
  it('an older command arriving after a newer one is superseded: not applied, and announced', async () => {
    const { deps, writes, links, published } = await harness();
    expect(await applyOrReject(command('new', 'Link Contact', T0), deps)).toMatchObject({
      outcome: 'applied',
    });
    const late = await applyOrReject(command('old', 'Unlink Contact', T0 - 60_000), deps);
    expect(late).toEqual({ outcome: 'superseded', opportunityId: OPPORTUNITY, newerCommandId: 'new' });
    expect(writes).toEqual([`link ${CONTACT}`]);
    expect(links.has(CONTACT)).toBe(true);
    expect(published.at(-1)).toEqual({
      detailType: events.commandApplied.detailType,
      detail: {
        schemaVersion: 1,
        commandId: 'old',
        command: 'Unlink Contact',
        outcome: 'superseded',
        opportunityId: OPPORTUNITY,
        newerCommandId: 'new',
      },
    });
  });

  it('a newer command after an older one is applied', async () => {
    const { deps, writes, applied } = await harness();
    await applyOrReject(command('a', 'Link Contact', T0 - 60_000), deps);
    await applyOrReject(command('b', 'Unlink Contact', T0), deps);
    expect(writes).toEqual([`link ${CONTACT}`, `unlink ${CONTACT}`]);
    expect(applied()).toEqual(['applied', 'applied']);
  });

  it('two commands of the same second are both applied, in the order they arrive', async () => {
    const { deps, writes } = await harness();
    await applyOrReject(command('a', 'Link Contact', T0), deps);
    await applyOrReject(command('b', 'Unlink Contact', T0), deps);
    expect(writes).toEqual([`link ${CONTACT}`, `unlink ${CONTACT}`]);
  });

  it('a command retried after a failure is not superseded by its own first attempt', async () => {
    const { deps, writes } = await harness();
    const failing = {
      ...deps,
      client: {
        ...deps.client,
        listOpportunityContacts: async () => {
          throw new Error('Salescaling 503');
        },
      } as unknown as SalescalingClient,
    };
    await expect(applyOrReject(command('a', 'Link Contact', T0), failing)).rejects.toThrow('503');
    expect(await applyOrReject(command('a', 'Link Contact', T0), deps)).toMatchObject({ outcome: 'applied' });
    expect(writes).toEqual([`link ${CONTACT}`]);
  });

  it('refuses, naming the time, a command dated too far ahead (it would supersede every later one)', async () => {
    const { deps, writes, published } = await harness();
    const ahead = await applyOrReject(
      command('future', 'Link Contact', T0 + MAX_COMMAND_CLOCK_SKEW_MS + 1000),
      deps,
    );
    expect(ahead).toMatchObject({
      outcome: 'rejected',
      reason: 'The command is dated in the future',
      errors: [{ field: 'time', message: 'must be at most 5 minutes ahead of now' }],
    });
    expect(published.map((p) => p.detailType)).toEqual(['Command Rejected']);
    // A clock a little behind the producer's is fine, and what was refused moved no mark.
    expect(
      await applyOrReject(command('skewed', 'Link Contact', T0 + MAX_COMMAND_CLOCK_SKEW_MS - 1000), deps),
    ).toMatchObject({ outcome: 'applied' });
    expect(writes).toEqual([`link ${CONTACT}`]);
  });

  it('refuses a command without a valid time, before any Salescaling call', async () => {
    const { deps, writes } = await harness();
    for (const time of [undefined, 'yesterday', 'x'.repeat(100)]) {
      expect(await applyOrReject({ ...command('t', 'Link Contact', T0), time }, deps)).toMatchObject({
        outcome: 'rejected',
        errors: [{ field: 'time' }],
      });
    }
    expect(writes).toEqual([]);
  });

  it('orders again once the mark expires with the idempotency records', async () => {
    const { deps, writes, setClock } = await harness();
    await applyOrReject(command('new', 'Link Contact', T0), deps);
    setClock(T0 + 3601_000);
    expect(await applyOrReject(command('old', 'Unlink Contact', T0 - 1000), deps)).toMatchObject({
      outcome: 'applied',
    });
    expect(writes).toEqual([`link ${CONTACT}`, `unlink ${CONTACT}`]);
  });
});

describe('an Upsert Opportunity is ordered by what it resolves by', () => {
  const upsert = (email: string, name: string) => ({
    schemaVersion: 1,
    contact: { email },
    opportunity: { name },
  });
  const keyOf = (detail: unknown) =>
    orderKey(events.upsertOpportunity, events.upsertOpportunity.schema.parse(detail)).key;

  it('its contact and the opportunity name, as the upsert compares them (any case, trimmed)', () => {
    expect(keyOf(upsert('Ada@Example.com', ' Renewal '))).toBe(keyOf(upsert('ada@example.com', 'RENEWAL')));
    expect(keyOf(upsert('ada@example.com', 'Renewal'))).not.toBe(
      keyOf(upsert('ada@example.com', 'Expansion')),
    );
    expect(keyOf(upsert('ada@example.com', 'Renewal'))).not.toBe(keyOf(upsert('bob@example.com', 'Renewal')));
    // Bounded, whatever the name: a hash.
    expect(keyOf(upsert('ada@example.com', 'x'.repeat(255)))).toMatch(/^upsert#[0-9a-f]{64}$/);
  });

  it('an older upsert after a newer one for the same opportunity makes no Salescaling call', async () => {
    const { deps, published } = await harness();
    const store = deps.orderStore;
    await store.advance(keyOf(upsert('ada@example.com', 'Renewal')), { time: T0, commandId: 'newer' });
    const noCalls = new Proxy({} as SalescalingClient, {
      get: (_, name) => () => {
        throw new Error(`Salescaling called (${String(name)}) for a superseded command`);
      },
    });
    const outcome = await applyOrReject(
      {
        id: 'older',
        'detail-type': 'Upsert Opportunity',
        detail: upsert('ADA@example.com', 'renewal'),
        time: new Date(T0 - 1000).toISOString(),
      },
      { ...deps, client: noCalls },
    );
    expect(outcome).toEqual({ outcome: 'superseded', newerCommandId: 'newer' });
    expect(published.at(-1)?.detail).toEqual({
      schemaVersion: 1,
      commandId: 'older',
      command: 'Upsert Opportunity',
      outcome: 'superseded',
      newerCommandId: 'newer',
    });
  });
});
