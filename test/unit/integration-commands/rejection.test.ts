import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyOrReject,
  type CommandEvent,
  type CommandSettings,
  publishRejection,
} from '#functions/integration-commands/commands.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { DynamoDbCommandOrderStore } from '#shared/idempotency/command-order.ts';
import { idempotencyStore } from '#shared/idempotency/store.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';

/**
 * The rejection path of one command: a fake publisher that refuses, as EventBridge does, any entry
 * over 256 KB (and any entry while told to), and a Salescaling client that fails the test if called.
 */
const settings: CommandSettings = { open: 'open', won: 'won', lost: 'lost' };
const client = new Proxy({} as SalescalingClient, {
  get: (_, name) => () => {
    throw new Error(`Salescaling called (${String(name)}) for a command that should be rejected`);
  },
});

/** The stores as deployed (DynamoDB), on dynalite. */
let dynamoDb: TestDynamoDb;
const TABLE = 'idempotency';
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
  await dynamoDb.createTable(TABLE);
});
afterAll(() => dynamoDb?.close());

function harness(refuse: (detail: string) => boolean = () => false) {
  const published: Array<{ detailType: string; detail: string }> = [];
  const warnings: string[] = [];
  const publisher: EventPublisher = {
    async publish(detailType, detail) {
      const json = JSON.stringify(detail);
      if (json.length > 256 * 1024 || refuse(json)) throw new Error('EventBridge refused the entry');
      published.push({ detailType, detail: json });
      return { eventId: `e-${published.length}` };
    },
  };
  const deps = {
    client,
    publisher,
    settings,
    orderStore: new DynamoDbCommandOrderStore({
      tableName: TABLE,
      expirySeconds: 3600,
      client: dynamoDb.client,
    }),
    warn: (message: string) => warnings.push(message),
  };
  return { published, warnings, deps, publisher };
}

/** A Close Opportunity whose detail adds unknown 4-character keys until it weighs about `kb` KB. */
function paddedClose(kb: number): CommandEvent {
  const detail: Record<string, unknown> = {
    schemaVersion: 1,
    opportunityId: '5516cd47-2bd0-4f4f-adc2-22524e54ba4d',
    outcome: 'lost',
    reason: 'x',
  };
  // Each key adds `"abcd":1,` (9 characters) to the JSON.
  const keys = Math.ceil((kb * 1024 - JSON.stringify(detail).length) / 9);
  for (let i = 0; i < keys; i++) detail[i.toString(36).padStart(4, 'z')] = 1;
  return { id: 'evt-1', 'detail-type': 'Close Opportunity', detail };
}

describe('a rejected command', () => {
  it.each([230, 255])('of %i KB of unknown keys is answered by one small Command Rejected', async (kb) => {
    const { published, deps } = harness();
    const outcome = await applyOrReject(paddedClose(kb), deps);
    expect(outcome).toMatchObject({ outcome: 'rejected', reason: 'Invalid command' });
    expect(published).toHaveLength(1);
    expect(published[0]?.detailType).toBe('Command Rejected');
    // A few hundred characters of the sender's key names at most, not 230 KB of them.
    expect(published[0]?.detail.length).toBeLessThan(1000);
    expect(JSON.parse(published[0]?.detail ?? '')).toMatchObject({
      commandId: 'evt-1',
      command: 'Close Opportunity',
      errors: [{ field: '(body)', message: expect.stringMatching(/^Unrecognized keys: .*…$/) }],
    });
  });

  it('bounds what it repeats of a long detail type or Salescaling message', async () => {
    const { published, deps } = harness();
    const outcome = await applyOrReject(
      { id: 'evt-2', 'detail-type': 'X'.repeat(100_000), detail: {} },
      deps,
    );
    expect(outcome.outcome).toBe('rejected');
    expect(published[0]?.detail.length).toBeLessThan(1200);
  });

  it('is published without its errors, and the reason logged, when EventBridge refuses it with them', async () => {
    const { published, warnings, deps } = harness((json) => json.includes('Unrecognized'));
    const outcome = await applyOrReject(paddedClose(255), deps);
    expect(outcome.outcome).toBe('rejected');
    expect(JSON.parse(published[0]?.detail ?? '')).toMatchObject({
      reason: 'Invalid command',
      errors: [{ field: '(errors)', message: '1 errors: see the dead letter' }],
    });
    expect(warnings).toEqual([
      'Command Rejected could not be published with its errors; publishing it without them',
    ]);
  });

  it('throws (to be retried) when no rejection can be published at all', async () => {
    const { published, deps } = harness(() => true);
    await expect(
      publishRejection(
        deps.publisher,
        paddedClose(1),
        { outcome: 'rejected', reason: 'Invalid command', errors: [] },
        deps.warn,
      ),
    ).rejects.toThrow(/refused/);
    expect(published).toEqual([]);
  });

  it("under the handler's idempotency record, is published once however often it is delivered", async () => {
    const { published, deps } = harness();
    const config = new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: 3600 });
    config.registerLambdaContext({ getRemainingTimeInMillis: () => 30_000 } as Context);
    const applyOnce = makeIdempotent((event: CommandEvent) => applyOrReject(event, deps), {
      persistenceStore: idempotencyStore(TABLE, dynamoDb.client),
      config,
    });
    const event = paddedClose(255);
    const first = await applyOnce(event);
    const again = await applyOnce(event);
    expect(again).toEqual(first);
    expect(published).toHaveLength(1);
  });
});
