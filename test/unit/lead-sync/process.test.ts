import {
  IdempotencyConfig,
  IdempotencyRecordStatus,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadIdempotency, processRecord } from '#functions/lead-sync/process.ts';
import type { SyncResult } from '#functions/lead-sync/sync.ts';
import { idempotencyStore } from '#shared/idempotency/store.ts';
import type { Lead } from '#shared/leads/lead.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';

/**
 * One record through processRecord with the real Powertools idempotency (the handler's key and
 * payload check) over the DynamoDB store (dynalite, a table per test); only the sync itself is a
 * fake that counts its runs.
 */
let dynamoDb: TestDynamoDb;
let tables = 0;
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
});
afterAll(() => dynamoDb?.close());

async function harness() {
  const tableName = await dynamoDb.createTable(`idempotency-${++tables}`);
  const runs: Lead[] = [];
  const letters: Array<{ messageId: string; reason: string }> = [];
  const config = new IdempotencyConfig({ ...leadIdempotency, expiresAfterSeconds: 3600 });
  config.registerLambdaContext({ getRemainingTimeInMillis: () => 30_000 } as Context);
  const sync = makeIdempotent(
    async (lead: Lead): Promise<SyncResult> => {
      runs.push(lead);
      return { opportunityId: `opp-${runs.length}` } as SyncResult;
    },
    { persistenceStore: idempotencyStore(tableName, dynamoDb.client), config },
  );
  const process = (detail: object, messageId = `m-${Math.random()}`) =>
    processRecord(record(detail, messageId), {
      sync,
      deadLetter: async (r, reason) => {
        letters.push({ messageId: r.messageId, reason });
      },
      maxReceiveCount: 5,
    });
  return { runs, letters, process };
}

function record(detail: object, messageId: string): SQSRecord {
  return {
    messageId,
    body: JSON.stringify({ 'detail-type': 'Lead Received', detail }),
    attributes: { ApproximateReceiveCount: '1' },
  } as unknown as SQSRecord;
}

/** A Lead Received detail as it arrives: parsed from JSON, so a `__proto__` field is an own key. */
function lead(overrides: Record<string, unknown> = {}, fieldsJson = '{"Email":"ada@acme.com"}') {
  return {
    schemaVersion: 1,
    submissionId: 'crm-25535',
    source: { provider: 'form' },
    submittedAt: '2026-11-28T09:00:00.000Z',
    receivedAt: '2026-11-28T09:00:01.000Z',
    contact: { email: 'ada@acme.com' },
    company: {},
    opportunity: { name: 'Deal', amount: 100 },
    fields: JSON.parse(fieldsJson) as object,
    ...overrides,
  };
}

describe('one lead per door and id, checked by content', () => {
  it('a true redelivery (received and submitted later, same content) runs once, with no dead letter', async () => {
    const h = await harness();
    const first = await h.process(lead());
    const again = await h.process(
      lead({ receivedAt: '2026-11-28T10:00:00.000Z', submittedAt: '2026-11-28T09:59:00.000Z' }),
    );
    expect(h.runs).toHaveLength(1);
    expect(again).toEqual(first);
    expect(h.letters).toEqual([]);
  });

  const proto = (value: string) => `{"Email":"ada@acme.com","__proto__":"${value}"}`;
  it.each([
    ['another contact', lead(), lead({ contact: { email: 'real.buyer@acme.example.com' } })],
    ['another amount', lead(), lead({ opportunity: { name: 'Deal', amount: 50_000 } })],
    ['another company', lead(), lead({ company: { name: 'Acme' } })],
    ['another field value', lead(), lead({}, '{"Email":"ada@acme.com","Budget":"50000"}')],
    ['a field named __proto__ with another value', lead({}, proto('a')), lead({}, proto('b'))],
  ])(
    'a different lead under a used id (%s) is dead-lettered with a plain reason, never synced',
    async (_, first, other) => {
      const h = await harness();
      await h.process(first);
      expect(await h.process(other, 'm-second')).toBeUndefined();
      expect(h.runs).toHaveLength(1);
      expect(h.letters).toEqual([
        {
          messageId: 'm-second',
          reason: 'A different lead already used submission id "crm-25535" from form',
        },
      ]);
    },
  );

  it('the same id through another door is another lead: both run', async () => {
    const h = await harness();
    await h.process(lead());
    await h.process(lead({ source: { provider: 'standard-webhooks' } }));
    expect(h.runs.map((l) => l.source.provider)).toEqual(['form', 'standard-webhooks']);
    expect(h.letters).toEqual([]);
  });

  it('a record stored before content was compared (no payload hash) cannot tell: dead-lettered saying so', async () => {
    const letters: string[] = [];
    const legacy = new IdempotencyRecord({ idempotencyKey: 'k', status: IdempotencyRecordStatus.COMPLETED });
    await processRecord(record(lead(), 'm-1'), {
      sync: async () => {
        throw new IdempotencyValidationError(
          'Payload does not match stored record for this event key',
          legacy,
        );
      },
      deadLetter: async (_, reason) => {
        letters.push(reason);
      },
      maxReceiveCount: 5,
    });
    expect(letters).toEqual([
      expect.stringMatching(
        /^Submission id "crm-25535" from form was synced before lead content was compared/,
      ),
    ]);
  });
});
