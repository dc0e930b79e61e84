import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATE_LIMIT_MS, TokenBucket } from '#shared/salescaling/budget.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';

/**
 * However many processes lease from one budget item, at whatever moments and concurrency, and
 * whatever 429s they report, no window of T seconds holds more than rate × T + 1 sends (the bucket
 * allows no burst beyond one), on a real DynamoDB API (dynalite) with a fake clock.
 */
let dynamoDb: TestDynamoDb;
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
  await dynamoDb.createTable('budget');
});
afterAll(() => dynamoDb?.close());

let keys = 0;
const step = fc.record({
  /** Which processes ask for a slot now, all at once. */
  callers: fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 6 }),
  /** Then the clock moves on this much. */
  advanceMs: fc.nat({ max: 400 }),
  /** And one process reports a 429 (its Retry-After, or none). */
  rateLimited: fc.option(fc.option(fc.nat({ max: 2_000 }), { nil: undefined }), { nil: null, freq: 6 }),
});

describe('the shared budget, for any leasing pattern', () => {
  it('never lets N processes together exceed rate × T + 1 in any window T', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(step, { minLength: 1, maxLength: 12 }),
        async (rate, steps) => {
          const clock = { t: 1_000_000 };
          const key = `p-${++keys}`;
          const procs = Array.from(
            { length: 6 },
            () =>
              new TokenBucket({
                client: dynamoDb.client,
                tableName: 'budget',
                key,
                ratePerSecond: rate,
                now: () => clock.t,
                sleep: async () => undefined,
              }),
          );
          const sends: number[] = [];
          for (const s of steps) {
            const asked = clock.t;
            const slots = await Promise.all(s.callers.map((i) => (procs[i] as TokenBucket).acquire()));
            // A slot may be used up to LATE_LIMIT_MS after its time (sent then), never before it.
            for (const slot of slots) expect(slot).toBeGreaterThanOrEqual(asked - LATE_LIMIT_MS);
            sends.push(...slots);
            clock.t += s.advanceMs;
            if (s.rateLimited !== null) await (procs[0] as TokenBucket).rateLimited(s.rateLimited);
          }
          sends.sort((a, b) => a - b);
          // Slots are spaced at least 1/rate apart (the rate only ever drops below the budget).
          for (let i = 1; i < sends.length; i++) {
            expect((sends[i] as number) - (sends[i - 1] as number)).toBeGreaterThanOrEqual(
              1000 / rate - 1e-6,
            );
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
