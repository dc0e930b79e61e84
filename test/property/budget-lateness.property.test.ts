import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busiestSecond } from '#local/tools/bench/budget.ts';
import { HEADROOM, LATE_LIMIT_MS, TokenBucket } from '#shared/salescaling/budget.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';

/**
 * The pacing guarantee, whatever the lateness: timers fire late (a busy event loop), several at once
 * (bunched), in every process, and still no second of send times holds more than the budget. A
 * simulated event loop drives a fake clock: each process's callers send one request after another
 * (acquire, then the request's own time), every wait is a timer that fires at its time plus an
 * injected lateness, and timers fire one at a time, earliest first, each only when every caller is
 * waiting on one (so the clock stands still while a caller runs: a send is stamped when it leaves).
 * On a real DynamoDB API (dynalite).
 */
let dynamoDb: TestDynamoDb;
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
  await dynamoDb.createTable('budget');
});
afterAll(() => dynamoDb?.close());

interface Timer {
  due: number;
  resolve: () => void;
}

/** A fake clock and its timers: the loop below fires them, late by what `lateness` says. */
class SimulatedLoop {
  t = 1_000_000;
  timers: Timer[] = [];
  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.timers.push({ due: this.t + ms, resolve });
    });
}

let keys = 0;
/** Lets the callers run until `count` timers are pending (bounded: a caller that never waits fails the test). */
async function pendingTimers(loop: SimulatedLoop, count: number): Promise<void> {
  for (let turns = 0; loop.timers.length < count; turns++) {
    if (turns > 5_000) throw new Error(`${loop.timers.length} timers pending, expected ${count}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('the shared budget under late timers', () => {
  it('never lets more than the budget leave in any sliding second, however late or bunched the timers fire', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 25 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        // Each timer's lateness (ms), in turn: mostly on time, sometimes late, now and then very late.
        fc.array(
          fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.nat({ max: 60 }), fc.nat({ max: 400 })),
          {
            minLength: 20,
            maxLength: 60,
          },
        ),
        // Each request's own time (ms) before its caller asks for the next slot.
        fc.array(fc.nat({ max: 80 }), { minLength: 5, maxLength: 20 }),
        async (rate, processCount, callersPerProcess, lateness, work) => {
          const loop = new SimulatedLoop();
          const key = `late-${++keys}`;
          const buckets = Array.from(
            { length: processCount },
            () =>
              new TokenBucket({
                client: dynamoDb.client,
                tableName: 'budget',
                key,
                ratePerSecond: rate,
                now: () => loop.t,
                sleep: loop.sleep,
              }),
          );
          const horizon = loop.t + 3_000;
          const sends: number[] = [];
          let running = 0;
          let turn = 0;
          const caller = async (bucket: TokenBucket) => {
            while (loop.t < horizon) {
              await bucket.acquire();
              sends.push(loop.t); // it leaves now: the clock stands still while a caller runs
              await loop.sleep(work[sends.length % work.length] as number);
            }
          };
          const callers = buckets.flatMap((bucket) =>
            Array.from({ length: callersPerProcess }, () => {
              running++;
              return caller(bucket).finally(() => running--);
            }),
          );
          // The loop: once every caller waits on a timer, fire the earliest, late by the next lateness.
          while (running > 0) {
            await pendingTimers(loop, running);
            loop.timers.sort((a, b) => a.due - b.due);
            const timer = loop.timers.shift() as Timer;
            loop.t = Math.max(loop.t, timer.due + (lateness[turn++ % lateness.length] as number));
            timer.resolve();
            await new Promise((resolve) => setImmediate(resolve));
          }
          await Promise.all(callers);
          expect(sends.length).toBeGreaterThan(0);
          expect(busiestSecond(sends)).toBeLessThanOrEqual(rate);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('forfeits a slot whose timer fired more than LATE_LIMIT_MS late, and sends at a later one', async () => {
    const loop = new SimulatedLoop();
    const rate = 5; // slots, not an idle stretch: the interval (210 ms) is over half IDLE_RANGE_MS
    const bucket = new TokenBucket({
      client: dynamoDb.client,
      tableName: 'budget',
      key: `late-${++keys}`,
      ratePerSecond: rate,
      now: () => loop.t,
      sleep: loop.sleep,
    });
    const interval = 1000 / (rate * HEADROOM);
    // The first request goes now; the second waits for the slot leased ahead, an interval later.
    const first = await bucket.acquire();
    expect(first).toBe(loop.t);
    const second = bucket.acquire();
    await pendingTimers(loop, 1);
    const slot = loop.timers.shift() as Timer;
    expect(slot.due).toBeCloseTo(first + interval, 6);
    // Its timer fires just over the limit late: the slot is forfeited, and the next one leased.
    loop.t = slot.due + LATE_LIMIT_MS + 1;
    slot.resolve();
    await pendingTimers(loop, 1);
    const next = loop.timers.shift() as Timer;
    expect(next.due).toBeCloseTo(slot.due + interval, 6);
    loop.t = next.due + LATE_LIMIT_MS; // late, but within the limit: used
    next.resolve();
    expect(await second).toBe(next.due);
    expect(bucket.forfeited).toBe(1);
  });
});
