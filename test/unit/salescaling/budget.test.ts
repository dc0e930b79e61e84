import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import {
  BudgetUnavailableError,
  DECREASE_FACTOR,
  HEADROOM,
  IDLE_RANGE_MS,
  MAX_AHEAD_MS,
  MAX_PAUSE_MS,
  RECOVERY_PER_SECOND,
  TokenBucket,
} from '#shared/salescaling/budget.ts';
import {
  createRequestLimiter,
  createSharedBudgetLimiter,
  limiterFromEnv,
} from '#shared/salescaling/limiter.ts';
import { startTestDynamoDb, type TestDynamoDb } from '#test/support/dynamodb.ts';

/**
 * The shared budget's token bucket on a real DynamoDB API (dynalite, the real SDK client), with a
 * fake clock: each TokenBucket instance stands for one process (a Lambda instance, a sandbox).
 */
let dynamoDb: TestDynamoDb;
let writes = 0;
beforeAll(async () => {
  dynamoDb = await startTestDynamoDb();
  await dynamoDb.createTable('budget');
  dynamoDb.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand') writes++;
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
});
afterAll(() => dynamoDb?.close());

let keys = 0;
/** The spacing of slots at a budget (ms): a little over 1/rate (HEADROOM). */
const gap = (ratePerSecond: number) => 1000 / (ratePerSecond * HEADROOM);
function processes(count: number, ratePerSecond: number, clock: { t: number }) {
  const key = `budget-${++keys}`;
  return Array.from(
    { length: count },
    () =>
      new TokenBucket({
        client: dynamoDb.client,
        tableName: 'budget',
        key,
        ratePerSecond,
        now: () => clock.t,
        // The fake clock moves only when the test moves it: a wait is recorded, not slept.
        sleep: async () => undefined,
      }),
  );
}

describe('the shared budget (token bucket in DynamoDB)', () => {
  it('lets one busy caller use the whole budget, at well under one write per call', async () => {
    const clock = { t: 1_000_000 };
    const [alone] = processes(1, 20, clock) as [TokenBucket];
    const before = writes;
    const slots: number[] = [];
    // Three requests at a time, as a client's concurrency cap allows.
    for (let round = 0; round < 20; round++) {
      slots.push(...(await Promise.all([alone.acquire(), alone.acquire(), alone.acquire()])));
    }
    expect(slots).toHaveLength(60);
    const sorted = [...slots].sort((a, b) => a - b);
    // 20 a second, no faster: 60 calls take 59 intervals of just over 50 ms (HEADROOM).
    expect((sorted.at(-1) as number) - (sorted[0] as number)).toBeCloseTo(59 * gap(20), 6);
    for (let i = 1; i < sorted.length; i++) {
      expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(50 - 1e-6);
    }
    expect(writes - before).toBeLessThanOrEqual(60 / 2);
  });

  it('shares it between processes: together never faster than the budget, each making progress', async () => {
    const clock = { t: 2_000_000 };
    const [a, b] = processes(2, 10, clock) as [TokenBucket, TokenBucket];
    const mine: { a: number[]; b: number[] } = { a: [], b: [] };
    for (let round = 0; round < 10; round++) {
      const [x, y, z, w] = await Promise.all([a.acquire(), b.acquire(), a.acquire(), b.acquire()]);
      mine.a.push(x, z);
      mine.b.push(y, w);
      clock.t += 50;
    }
    const all = [...mine.a, ...mine.b].sort((p, q) => p - q);
    for (let i = 1; i < all.length; i++) {
      expect((all[i] as number) - (all[i - 1] as number)).toBeGreaterThanOrEqual(100 - 1e-6);
    }
    expect(mine.a).toHaveLength(20);
    expect(mine.b).toHaveLength(20);
  });

  it('reads the item at cold start and, the budget idle, leases its first stretch then: the first request waits for neither', async () => {
    const clock = { t: 2_500_000 };
    // 20 a second: an idle stretch holds several requests (under 10 a second, slots are leased as needed).
    const [p] = processes(1, 20, clock) as [TokenBucket];
    let reads = 0;
    const count =
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        if (context.commandName === 'GetItemCommand') reads++;
        return next(args);
      };
    dynamoDb.client.middlewareStack.add(count as never, { step: 'initialize', name: 'countReads' });
    try {
      const before = writes;
      p.prefetch();
      p.prefetch(); // once
      await vi.waitFor(() => expect(writes - before).toBe(1));
      expect(reads).toBe(1);
      clock.t += 50; // the first request comes a little later (after the key and the idempotency record)
      expect(await p.acquire()).toBe(clock.t);
      expect(reads).toBe(1);
      expect(writes - before).toBe(1);
    } finally {
      dynamoDb.client.middlewareStack.remove('countReads');
    }
  });

  it('after idling gives no burst: the next slot is now, the one after a full interval later', async () => {
    const clock = { t: 3_000_000 };
    const [p] = processes(1, 5, clock) as [TokenBucket];
    await p.acquire();
    clock.t += 60_000;
    const [first, second] = await Promise.all([p.acquire(), p.acquire()]);
    expect(first).toBe(clock.t);
    expect(second).toBe(clock.t + gap(5));
  });

  it('drops a leased slot gone stale rather than send late, bunched with later ones', async () => {
    const clock = { t: 4_000_000 };
    const [p, other] = processes(2, 10, clock) as [TokenBucket, TokenBucket];
    await p.acquire(); // leases two: one used now, one for +100 ms
    clock.t += 1_000;
    await other.acquire();
    const next = await p.acquire();
    expect(next).toBeGreaterThanOrEqual(clock.t + 100);
  });

  it('leases a lone caller slower than the interval a stretch of time while the budget is idle', async () => {
    const clock = { t: 4_500_000 };
    const [slow, other] = processes(2, 20, clock) as [TokenBucket, TokenBucket];
    const before = writes;
    const waits: number[] = [];
    for (let call = 0; call < 20; call++) {
      const asked = clock.t;
      waits.push((await slow.acquire()) - asked);
      clock.t += 70; // one request at a time, each 70 ms after the last (the interval is ~53 ms)
    }
    // Never held back, at well under one write per call: each write leases IDLE_RANGE_MS (200 ms),
    // three of its requests (at 0, 70 and 140 ms; the last must leave an interval before the end).
    expect(Math.max(...waits)).toBe(0);
    expect(writes - before).toBeLessThanOrEqual(Math.ceil(20 / 3) + 1);
    // What an idle lease holds back from a process that comes meanwhile: at most its length.
    const arrived = clock.t;
    const theirs = await other.acquire();
    expect(theirs - arrived).toBeLessThanOrEqual(IDLE_RANGE_MS + gap(20));
    // And the budget is no longer idle: once the lone caller's stretch is over, its leases are tight
    // slots again, an interval apart.
    const mine: number[] = [];
    for (let i = 0; i < 6; i++) mine.push(await slow.acquire());
    const all = [theirs, ...mine].sort((a, b) => a - b);
    for (let i = 1; i < all.length; i++) {
      expect((all[i] as number) - (all[i - 1] as number)).toBeGreaterThanOrEqual(gap(20) - 1e-6);
    }
    expect((mine.at(-1) as number) - (mine.at(-2) as number)).toBeCloseTo(gap(20), 6);
  });

  it('pauses every process on a 429 with Retry-After, lowers the rate and lets it recover gradually', async () => {
    const clock = { t: 5_000_000 };
    const [hit, other] = processes(2, 20, clock) as [TokenBucket, TokenBucket];
    await other.acquire();
    await hit.rateLimited(2_000);
    const state = await hit.read();
    expect(state.pausedUntil).toBe(clock.t + 2_000);
    expect(state.rate).toBeCloseTo(20 * DECREASE_FACTOR, 6);
    // The other process learns of the pause at its next lease: what it leased before the 429 (here
    // an idle lease, IDLE_RANGE_MS; never more than half a second of budget) is used, then nothing
    // until the pause ends.
    const pausedAt = clock.t;
    clock.t += 10;
    const leasedBefore: number[] = [];
    let slot = await other.acquire();
    for (; slot < pausedAt + 2_000; slot = await other.acquire()) {
      leasedBefore.push(slot);
      expect(leasedBefore.length).toBeLessThanOrEqual(IDLE_RANGE_MS / gap(20));
    }
    expect(slot).toBe(pausedAt + 2_000);
    expect(leasedBefore[0]).toBe(pausedAt + gap(20));
    for (const slot of leasedBefore) expect(slot).toBeLessThan(pausedAt + IDLE_RANGE_MS);

    // Another 429 of the same overload, within a second: paused again, not lowered twice.
    await other.rateLimited(undefined);
    expect((await hit.read()).rate).toBeCloseTo(20 * DECREASE_FACTOR, 6);
    // A run of them, a second apart: multiplicative decrease.
    clock.t += 1_000;
    await other.rateLimited(undefined);
    const lowered = await hit.read();
    // (what it had recovered to in the 1.01 s since) × β
    expect(lowered.rate).toBeCloseTo(
      (20 * DECREASE_FACTOR + 20 * RECOVERY_PER_SECOND * 1.01) * DECREASE_FACTOR,
      6,
    );
    // Additive recovery: RECOVERY_PER_SECOND of the budget a second, back to the budget, no higher.
    expect(hit.rateAt(lowered, clock.t + 1_000)).toBeCloseTo(lowered.rate + 20 * RECOVERY_PER_SECOND, 6);
    expect(hit.rateAt(lowered, clock.t + 60_000)).toBe(20);
  });

  it('caps a pause at MAX_PAUSE_MS (a longer Retry-After fails the request instead)', async () => {
    const clock = { t: 6_000_000 };
    const [p] = processes(1, 5, clock) as [TokenBucket];
    await p.rateLimited(3_600_000);
    expect((await p.read()).pausedUntil).toBe(clock.t + MAX_PAUSE_MS);
  });

  it('says the table is unavailable, naming no request detail, when DynamoDB cannot be reached', async () => {
    const unreachable = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const p = new TokenBucket({ client: unreachable, tableName: 'budget', ratePerSecond: 5 });
    const error = await p.acquire().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BudgetUnavailableError);
    expect((error as Error).message).toMatch(/^the budget table could not be used \(\w+\)$/);
    unreachable.destroy();
  });
  it('holds a bad item to what it could have written: no pause or slot years ahead, no zero rate', async () => {
    const clock = { t: 1_000_000 };
    const [caller] = processes(1, 20, clock) as [TokenBucket];
    const year2099 = 4_070_908_800_000;
    await dynamoDb.client.send(
      new PutItemCommand({
        TableName: 'budget',
        Item: {
          id: { S: `budget-${keys}` },
          nextAt: { N: String(year2099) },
          pausedUntil: { N: String(year2099) },
          rate: { N: '0' },
          rateAt: { N: String(year2099) },
          version: { N: '7' },
        },
      }),
    );
    const first = await caller.acquire();
    expect(first).toBeGreaterThanOrEqual(clock.t + MAX_PAUSE_MS);
    expect(first).toBeLessThanOrEqual(clock.t + MAX_AHEAD_MS + 1000);
    // The next lease wrote the corrected item: the slot after follows at the lowest rate at worst.
    const second = await caller.acquire();
    expect(second - first).toBeLessThanOrEqual(gap(20 * 0.05) + 1);
  });
});

describe('the shared-budget limiter', () => {
  it('falls back to the static share when the table is unavailable, counts it, and tries the table again later', async () => {
    const clock = { t: 7_000_000 };
    let tableUp = false;
    const [bucket] = processes(1, 50, clock) as [TokenBucket];
    const flaky = Object.assign(Object.create(bucket) as TokenBucket, {
      acquire: async () => {
        if (!tableUp) throw new BudgetUnavailableError('the budget table could not be used (TimeoutError)');
        return bucket.acquire();
      },
    });
    const fallbacks: string[] = [];
    let throughFallback = 0;
    const staticShare = createRequestLimiter({ requestsPerSecond: 1000 });
    const limiter = createSharedBudgetLimiter({
      bucket: flaky,
      fallback: {
        schedule: (task, signal) => {
          throughFallback++;
          return staticShare.schedule(task, signal);
        },
      },
      retryBucketAfterMs: 30_000,
      now: () => clock.t,
      onFallback: (error) => fallbacks.push(error.message),
    });
    expect(await limiter.schedule(async () => 'sent')).toBe('sent');
    tableUp = true;
    expect(await limiter.schedule(async () => 'sent')).toBe('sent');
    expect(throughFallback).toBe(2); // still within the 30 s before the table is tried again
    clock.t += 30_000;
    expect(await limiter.schedule(async () => 'sent')).toBe('sent');
    expect(throughFallback).toBe(2);
    expect(fallbacks).toEqual([
      'the budget table could not be used (TimeoutError)',
      'still on the local share',
    ]);
  });

  it('passes a task failure through untouched (only the table falls back)', async () => {
    const clock = { t: 8_000_000 };
    const [bucket] = processes(1, 50, clock) as [TokenBucket];
    const limiter = createSharedBudgetLimiter({
      bucket,
      fallback: createRequestLimiter({ requestsPerSecond: 1000 }),
      now: () => clock.t,
      onFallback: () => {
        throw new Error('must not fall back');
      },
    });
    await expect(
      limiter.schedule(async () => {
        throw new Error('Salescaling said no');
      }),
    ).rejects.toThrow('Salescaling said no');
  });

  it('as the functions build it, sends on the static share when DynamoDB is unreachable, and counts BudgetFallback', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', 'http://127.0.0.1:9');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    const added = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
    const warned = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      const limiter = limiterFromEnv({
        SALESCALING_BUDGET_TABLE_NAME: 'budget',
        SALESCALING_BUDGET_RPS: '20',
      });
      expect(await limiter.schedule(async () => 'sent')).toBe('sent');
      expect(await limiter.schedule(async () => 'sent again')).toBe('sent again');
      expect(added.mock.calls.map(([name, , value]) => [name, value])).toEqual([
        ['BudgetFallback', 1],
        ['BudgetFallback', 1],
      ]);
      // Logged once, when it switched, by the error's name: nothing from the request.
      expect(warned).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(warned.mock.calls)).not.toMatch(/budget"|TableName/);
    } finally {
      vi.unstubAllEnvs();
      vi.restoreAllMocks();
    }
  });

  it('is the static share with SALESCALING_BUDGET=static or no table, and refuses another mode by name', () => {
    expect(
      limiterFromEnv({ SALESCALING_BUDGET: 'static', SALESCALING_BUDGET_TABLE_NAME: 't' }).rateLimited,
    ).toBe(undefined);
    expect(limiterFromEnv({}).rateLimited).toBe(undefined);
    expect(
      typeof limiterFromEnv({ SALESCALING_BUDGET_TABLE_NAME: 't', AWS_REGION: 'eu-west-1' }).rateLimited,
    ).toBe('function');
    expect(() => limiterFromEnv({ SALESCALING_BUDGET: 'greedy' })).toThrow(
      'SALESCALING_BUDGET must be "shared" or "static" (got "greedy")',
    );
  });
});

describe('leases that take time to write', () => {
  /** A clock that moves by `writeMs` while each budget write is on the wire, as a real one does. */
  function slowWrites(writeMs: number, ratePerSecond: number) {
    const clock = { t: 5_000_000 };
    const client = new DynamoDBClient({
      endpoint: dynamoDb.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    let leases = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'UpdateItemCommand') {
          leases++;
          clock.t += writeMs;
        }
        return result;
      },
      { step: 'initialize', name: 'slowWrites' },
    );
    const bucket = new TokenBucket({
      client,
      tableName: 'budget',
      key: `slow-${++keys}`,
      ratePerSecond,
      now: () => clock.t,
      sleep: async (ms) => {
        clock.t += ms;
      },
    });
    return { bucket, clock, leases: () => leases };
  }

  it('start their slots far enough ahead that none is past when the write returns', async () => {
    // 1,000 a second with 5 ms writes: slots leased from "now" would all be past on arrival.
    const { bucket, leases } = slowWrites(5, 1000);
    const slots: number[] = [];
    for (let i = 0; i < 20; i++) slots.push(await bucket.acquire());
    expect(slots).toHaveLength(20);
    // Fewer leases than calls: only the first (which cannot know the write time yet) loses its
    // slot, and that loss holds the caller to one slot a lease for the next 8 leases (LOOKAHEAD_AFTER).
    expect(leases()).toBeLessThanOrEqual(1 + 8 + 6);
  });

  it("do not waste an idle lease's first slot", async () => {
    // 5 a second: a wasted slot would cost the caller 200 ms.
    const { bucket, clock } = slowWrites(10, 5);
    await bucket.acquire(); // learns the write time
    clock.t += 10_000; // idle
    const asked = clock.t;
    const slot = await bucket.acquire();
    expect(slot - asked).toBeLessThan(50);
  });
});
