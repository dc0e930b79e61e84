import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyOrReject,
  type CommandSettings,
  DELETE_REFUSED,
} from '#functions/integration-commands/commands.ts';
import { events } from '#shared/events/catalog.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { DynamoDbCommandOrderStore } from '#shared/idempotency/command-order.ts';
import { opportunityFieldsSchema } from '#shared/opportunities/fields.ts';
import { changedFields, isOwnOrphan } from '#shared/opportunities/upsert.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { fieldIssues, type Opportunity } from '#shared/salescaling/schemas.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';

/**
 * Every writable field of an `Upsert Opportunity`: each accepted at its bounds and refused past
 * them, naming the field; a refused command never reaches Salescaling.
 */
const valid = {
  amount: [0, 50_000, 1.5],
  finalAmount: [0, 45_000],
  risk: ['Low', 'x'.repeat(100)],
  priority: ['High', ' Medium '],
  description: ['Enterprise licence', 'x'.repeat(5000)],
  featuredNotes: ['Key decision maker is the CTO', 'x'.repeat(5000)],
  nextStep: ['FollowUp', 'x'.repeat(255)],
  closeDate: ['2024-03-10T00:00:00.000Z', '2024-03-10T01:00:00+01:00'],
  closeProbability: [0, 75, 100, 12.5],
  status: ['open', 'won', 'lost'],
} as const;
const invalid = {
  amount: [-1, '50000', Number.POSITIVE_INFINITY],
  finalAmount: [-0.01, null, '45000'],
  risk: ['', '   ', 'x'.repeat(101), 3],
  priority: ['', 'x'.repeat(101), true],
  description: ['', 'x'.repeat(5001)],
  featuredNotes: ['', 'x'.repeat(5001), 1],
  nextStep: ['', 'x'.repeat(256)],
  closeDate: ['2024-03-10', 'next week', '2024-13-10T00:00:00Z'],
  closeProbability: [-1, 101, '75', 1000],
  status: ['closed', 'Open', ''],
} as const;

describe('the opportunity of an Upsert Opportunity', () => {
  for (const [field, values] of Object.entries(valid)) {
    it.each(values as readonly unknown[])(`accepts ${field} %j`, (value) => {
      const parsed = opportunityFieldsSchema.safeParse({ name: 'Deal', [field]: value });
      expect(parsed.error?.issues).toBeUndefined();
      expect(parsed.data).toHaveProperty(field);
    });
  }
  for (const [field, values] of Object.entries(invalid)) {
    it.each(values as readonly unknown[])(`refuses ${field} %j, naming it`, (value) => {
      const parsed = opportunityFieldsSchema.safeParse({ name: 'Deal', [field]: value });
      expect(parsed.success).toBe(false);
      expect(fieldIssues(parsed.error as NonNullable<typeof parsed.error>).map((i) => i.field)).toEqual([
        field,
      ]);
    });
  }
  it('refuses a field the reference does not list as writable', () => {
    const parsed = opportunityFieldsSchema.safeParse({ name: 'Deal', createdAt: '2024-01-01T00:00:00Z' });
    expect(parsed.success).toBe(false);
  });
});

const settings: CommandSettings = { open: 'Open deal', won: 'Closed won', lost: 'Closed lost' };
let dynamoDb: TestDynamoDb;
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
  await dynamoDb.createTable('idempotency');
});
afterAll(() => dynamoDb?.close());

describe('an Upsert Opportunity with invalid fields', () => {
  it('is rejected with every offending field named, and Salescaling is never called', async () => {
    const calls: string[] = [];
    const client = new Proxy({} as SalescalingClient, {
      get: (_, name) => () => {
        calls.push(String(name));
        throw new Error('called');
      },
    });
    const published: Array<{ detailType: string; detail: unknown }> = [];
    const publisher: EventPublisher = {
      async publish(detailType, detail) {
        published.push({ detailType, detail });
        return { eventId: 'e' };
      },
    };
    const outcome = await applyOrReject(
      {
        id: 'evt-bad-fields',
        'detail-type': events.upsertOpportunity.detailType,
        time: new Date().toISOString(),
        detail: {
          schemaVersion: 1,
          contact: { email: 'ada@example.com' },
          opportunity: { name: 'Deal', closeProbability: 150, risk: '', status: 'closed', finalAmount: -5 },
        },
      },
      {
        client,
        publisher,
        settings,
        orderStore: new DynamoDbCommandOrderStore({
          tableName: 'idempotency',
          expirySeconds: 3600,
          client: dynamoDb.client,
        }),
        warn: () => {},
      },
    );
    expect(outcome).toMatchObject({ outcome: 'rejected', reason: 'Invalid command' });
    expect('errors' in outcome ? outcome.errors.map((e) => e.field).sort() : []).toEqual([
      'opportunity.closeProbability',
      'opportunity.finalAmount',
      'opportunity.risk',
      'opportunity.status',
    ]);
    expect(calls).toEqual([]);
    expect(published.map((p) => p.detailType)).toEqual(['Command Rejected']);
  });
});

describe('a Delete Opportunity where the stage does not allow it', () => {
  it.each([undefined, false])(
    'is rejected naming the setting (allowDelete %s), before the ordering guard and any call',
    async (allowDelete) => {
      const calls: string[] = [];
      const client = new Proxy({} as SalescalingClient, {
        get: (_, name) => () => {
          calls.push(String(name));
          throw new Error('called');
        },
      });
      const advanced: string[] = [];
      const published: string[] = [];
      const outcome = await applyOrReject(
        {
          id: `evt-delete-${String(allowDelete)}`,
          'detail-type': events.deleteOpportunity.detailType,
          time: new Date().toISOString(),
          detail: { schemaVersion: 1, opportunityId: '5516cd47-2bd0-4f4f-adc2-22524e54ba4d', reason: 'Dup' },
        },
        {
          client,
          publisher: {
            async publish(detailType) {
              published.push(detailType);
              return { eventId: 'e' };
            },
          },
          settings,
          allowDelete,
          orderStore: {
            advance: async (key) => {
              advanced.push(key);
              return { advanced: true };
            },
          },
          warn: () => {},
        },
      );
      expect(outcome).toMatchObject({ outcome: 'rejected', reason: DELETE_REFUSED });
      expect(DELETE_REFUSED).toContain('commands.allowDelete');
      expect(calls).toEqual([]);
      expect(advanced).toEqual([]);
      expect(published).toEqual(['Command Rejected']);
    },
  );
});

describe('the upsert compares every writable field', () => {
  const held: Opportunity = {
    id: '5516cd47-2bd0-4f4f-adc2-22524e54ba4d',
    name: 'Deal',
    amount: 100,
    finalAmount: null,
    risk: 'Low',
    priority: null,
    description: 'Held',
    featuredNotes: null,
    nextStep: 'Call',
    closeDate: '2024-03-10T00:00:00.000Z',
    closeProbability: 0,
    status: 'Open deal',
    createdAt: '2026-11-29T10:00:00.000Z',
  };
  const given = {
    name: 'Deal',
    amount: 100,
    finalAmount: 90,
    risk: 'High',
    priority: 'Low',
    description: 'Held',
    featuredNotes: 'CTO decides',
    nextStep: 'Call',
    closeDate: '2024-03-10T01:00:00+01:00',
    closeProbability: 50,
    status: 'Closed won',
  };

  it('overwrite: every field that differs, and nothing equal (a date by its instant)', () => {
    expect(changedFields(held, given, 'overwrite').changes).toEqual({
      finalAmount: 90,
      risk: 'High',
      priority: 'Low',
      featuredNotes: 'CTO decides',
      closeProbability: 50,
      status: 'Closed won',
    });
  });
  it('fill-empty: only what the CRM holds none of (a probability of 0 is held)', () => {
    const { changes, unchanged } = changedFields(held, given, 'fill-empty');
    expect(changes).toEqual({ finalAmount: 90, priority: 'Low', featuredNotes: 'CTO decides' });
    expect(unchanged.sort()).toEqual(['closeProbability', 'risk', 'status']);
  });
  it('an orphan is adopted only when it holds every given field and the given status', () => {
    const options = { statusOnCreate: 'Open deal' };
    const created = { ...held, ...given, closeDate: '2024-03-10T00:00:00.000Z' };
    expect(isOwnOrphan(created, given, options)).toBe(true);
    expect(isOwnOrphan({ ...created, featuredNotes: 'other' }, given, options)).toBe(false);
    expect(isOwnOrphan({ ...created, closeProbability: null }, given, options)).toBe(false);
    expect(isOwnOrphan({ ...created, status: 'Open deal' }, given, options)).toBe(false);
    // Without a status the one written on creation is expected.
    const { status: _, ...noStatus } = given;
    expect(isOwnOrphan({ ...created, status: 'Open deal' }, noStatus, options)).toBe(true);
  });
});
