import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '#local/emulator/server.ts';
import { TokenBucket } from '#shared/salescaling/budget.ts';
import { SalescalingClient } from '#shared/salescaling/client.ts';
import {
  SalescalingError,
  SalescalingNetworkError,
  SalescalingRateLimitedError,
  SalescalingServerError,
  SalescalingTimeoutError,
  SalescalingUnauthorizedError,
} from '#shared/salescaling/errors.ts';
import { createRequestLimiter, createSharedBudgetLimiter } from '#shared/salescaling/limiter.ts';
import { startTestDynamoDb } from '#test/support/dynamodb.ts';
import { TEST_API_KEY, useEmulator } from '#test/support/emulator.ts';
import { eventually } from '#test/support/eventually.ts';

/** The client under failure, driven by the emulator's fault injection over real HTTP. */
const ctx = useEmulator();

const seedOne = () =>
  ctx.emulator.store.createOpportunity({ name: 'Seeded deal', amount: 100, status: 'open' });

describe('retries', () => {
  it('recovers from 5xx on GET, with one request per attempt', async () => {
    const { id } = seedOne();
    await ctx.admin.scriptFaults([{ fault: 'error', status: 503, operation: 'getOpportunity', times: 2 }]);
    const opportunity = await ctx.client({ retries: 3 }).getOpportunity(id);
    expect(opportunity.id).toBe(id);
    const requests = await ctx.admin.requests({ operation: 'getOpportunity' });
    expect(requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('gives up after the configured retries with a server error naming operation, status and attempts', async () => {
    await ctx.admin.scriptFaults([
      { fault: 'error', status: 500, operation: 'listOpportunities', times: 10 },
    ]);
    const failure = ctx.client({ retries: 2 }).listOpportunities();
    await expect(failure).rejects.toBeInstanceOf(SalescalingServerError);
    await expect(failure).rejects.toMatchObject({ operation: 'listOpportunities', status: 500, attempts: 3 });
    expect(await ctx.admin.requests({ operation: 'listOpportunities' })).toHaveLength(3);
  });

  it('honours Retry-After on 429 before retrying', async () => {
    await ctx.admin.scriptFaults([{ fault: 'rate-limit', retryAfterSeconds: 1, operation: 'listContacts' }]);
    const page = await ctx.client().listContacts();
    expect(page.items).toEqual([]);
    const [limited, retried] = await ctx.admin.requests({ operation: 'listContacts' });
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    // Backoff alone would be a few milliseconds here (baseDelayMs 5); Retry-After asked for 1 s.
    expect((retried?.receivedAt ?? 0) - (limited?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('fails at once when Retry-After is longer than the client will wait, carrying the wait', async () => {
    await ctx.admin.scriptFaults([
      { fault: 'rate-limit', retryAfterSeconds: 120, operation: 'listCompanies' },
    ]);
    const failure = ctx.client({ maxRetryAfterMs: 5_000 }).listCompanies();
    await expect(failure).rejects.toBeInstanceOf(SalescalingRateLimitedError);
    await expect(failure).rejects.toMatchObject({ status: 429, retryAfterMs: 120_000, retryable: true });
    expect(await ctx.admin.requests({ operation: 'listCompanies' })).toHaveLength(1);
  });

  it('retries a PUT whose answer was lost, and the result is as if it ran once', async () => {
    const { id } = seedOne();
    await ctx.admin.scriptFaults([
      { fault: 'error', status: 502, when: 'after', operation: 'updateOpportunity' },
    ]);
    const updated = await ctx.client().updateOpportunity(id, { amount: 900 });
    expect(updated).toMatchObject({ amount: 900, name: 'Seeded deal', status: 'open' });
    expect((await ctx.admin.requests({ operation: 'updateOpportunity' })).map((r) => r.status)).toEqual([
      502, 200,
    ]);
  });

  it('retries a DELETE after a dropped connection', async () => {
    const { id } = seedOne();
    await ctx.admin.scriptFaults([{ fault: 'drop', operation: 'deleteOpportunity' }]);
    await ctx.client().deleteOpportunity(id);
    expect(ctx.emulator.store.getOpportunity(id)).toBeUndefined();
    const requests = await ctx.admin.requests({ operation: 'deleteOpportunity' });
    expect(requests.map((r) => r.outcome)).toEqual(['dropped', 'answered']);
  });

  it('recovers from a standing share of 5xx answers', async () => {
    seedOne();
    await ctx.admin.setFaults({ errorRate: 0.3, seed: 42 });
    const client = ctx.client({ retries: 8 });
    const pages = await Promise.all(Array.from({ length: 30 }, () => client.listOpportunities()));
    expect(pages.every((page) => page.items.length === 1)).toBe(true);
    const statuses = (await ctx.admin.requests({ operation: 'listOpportunities' })).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s !== 200).length).toBeGreaterThan(0);
  });
});

describe('POST is never duplicated', () => {
  const countNamed = (name: string) =>
    ctx.emulator.store.listOpportunities({ name }, { page: 1, limit: 100 }).length;

  it('does not retry a create that timed out after Salescaling applied it', async () => {
    await ctx.admin.scriptFaults([{ fault: 'hang', when: 'after', operation: 'createOpportunity' }]);
    const failure = ctx.client({ timeoutMs: 200 }).createOpportunity({ name: 'Timed out deal' });
    await expect(failure).rejects.toBeInstanceOf(SalescalingTimeoutError);
    await expect(failure).rejects.toMatchObject({ outcomeUnknown: true, attempts: 1 });
    await expect(failure).rejects.toThrow(/look the record up/);
    expect(await ctx.admin.requests({ operation: 'createOpportunity' })).toHaveLength(1);
    expect(countNamed('Timed out deal')).toBe(1);
  });

  it('does not retry a create whose connection dropped after sending', async () => {
    await ctx.admin.scriptFaults([{ fault: 'drop', when: 'after', operation: 'createContact' }]);
    const failure = ctx.client().createContact({ email: 'dropped@example.com' });
    await expect(failure).rejects.toBeInstanceOf(SalescalingNetworkError);
    await expect(failure).rejects.toMatchObject({ outcomeUnknown: true });
    expect(await ctx.admin.requests({ operation: 'createContact' })).toHaveLength(1);
    expect(ctx.emulator.store.stats().contacts).toBe(1);
  });

  it('does not retry a create answered with 5xx', async () => {
    await ctx.admin.scriptFaults([{ fault: 'error', status: 503, operation: 'createOpportunity', times: 3 }]);
    const failure = ctx.client().createOpportunity({ name: 'Server error deal' });
    await expect(failure).rejects.toBeInstanceOf(SalescalingServerError);
    await expect(failure).rejects.toMatchObject({ status: 503, outcomeUnknown: true });
    expect(await ctx.admin.requests({ operation: 'createOpportunity' })).toHaveLength(1);
  });

  it('does not retry a link whose answer was lost', async () => {
    const { id } = seedOne();
    const contact = ctx.emulator.store.createContact({ email: 'link@example.com' });
    await ctx.admin.scriptFaults([{ fault: 'drop', when: 'after', operation: 'linkOpportunityContact' }]);
    await expect(ctx.client().linkContact(id, contact.id)).rejects.toMatchObject({ outcomeUnknown: true });
    expect(await ctx.admin.requests({ operation: 'linkOpportunityContact' })).toHaveLength(1);
  });

  it('retries a create rejected with 429, which Salescaling did not apply', async () => {
    await ctx.admin.scriptFaults([
      { fault: 'rate-limit', retryAfterSeconds: 0, operation: 'createOpportunity' },
    ]);
    const created = await ctx.client().createOpportunity({ name: 'Rate limited deal' });
    expect(created.name).toBe('Rate limited deal');
    expect((await ctx.admin.requests({ operation: 'createOpportunity' })).map((r) => r.status)).toEqual([
      429, 200,
    ]);
    expect(countNamed('Rate limited deal')).toBe(1);
  });

  it('retries a create whose connection was refused (nothing was sent)', async () => {
    const closedPort = await freePort();
    const failure = new SalescalingClient({
      baseUrl: `http://127.0.0.1:${closedPort}/api/v1/`,
      apiKey: async () => TEST_API_KEY,
      retries: 2,
      baseDelayMs: 1,
      limiter: createRequestLimiter({ requestsPerSecond: 100 }),
    }).createOpportunity({ name: 'Nobody home' });
    await expect(failure).rejects.toBeInstanceOf(SalescalingNetworkError);
    await expect(failure).rejects.toMatchObject({ outcomeUnknown: false, attempts: 3 });
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('API key refresh', () => {
  it('on a 401 asks the provider for a fresh key exactly once, and keeps it while the provider still answers the old one', async () => {
    ctx.emulator.setApiKeys(['rotated-key-2']);
    const asked: boolean[] = [];
    const client = ctx.client({
      // The provider's cache still holds the old key; only a forced read sees the new one.
      apiKey: async ({ forceRefresh }) => {
        asked.push(forceRefresh);
        return forceRefresh ? 'rotated-key-2' : 'rotated-key-1';
      },
    });
    await client.listOpportunities();
    await client.listContacts();
    expect(asked).toEqual([false, true, false]);
    const statuses = (await ctx.admin.requests()).map((r) => r.status);
    expect(statuses).toEqual([401, 200, 200]);
  });

  it('uses the key the provider answers now, before every request, with no 401 (its cache decides when)', async () => {
    ctx.emulator.setApiKeys(['key-before', 'key-after']);
    let current = 'key-before';
    const asked: boolean[] = [];
    const client = ctx.client({
      apiKey: async ({ forceRefresh }) => {
        asked.push(forceRefresh);
        return current;
      },
    });
    await client.listOpportunities();
    current = 'key-after';
    await client.listContacts();
    const requests = await ctx.admin.requests();
    expect(requests.map((r) => r.status)).toEqual([200, 200]);
    expect(requests.map((r) => r.keyId)).toEqual([fingerprint('key-before'), fingerprint('key-after')]);
    expect(asked).toEqual([false, false]);
  });

  it('refreshes once for many concurrent requests that meet the same stale key', async () => {
    ctx.emulator.setApiKeys(['fresh']);
    let forced = 0;
    let current = 'stale';
    const client = ctx.client({
      apiKey: async ({ forceRefresh }) => {
        if (forceRefresh) {
          forced += 1;
          current = 'fresh';
        }
        return current;
      },
    });
    await Promise.all(Array.from({ length: 6 }, () => client.listOpportunities()));
    expect(forced).toBe(1);
    expect((await ctx.admin.requests()).filter((r) => r.status === 200)).toHaveLength(6);
  });

  it('reads afresh at the next 401 when a refresh found the same key (the secret was not yet updated)', async () => {
    ctx.emulator.setApiKeys(['key-2']);
    let secret = 'key-1';
    const asked: boolean[] = [];
    const client = ctx.client({
      apiKey: async ({ forceRefresh }) => {
        asked.push(forceRefresh);
        return forceRefresh ? secret : 'key-1';
      },
    });
    await expect(client.listOpportunities()).rejects.toBeInstanceOf(SalescalingUnauthorizedError);
    secret = 'key-2';
    await client.listContacts();
    expect(asked).toEqual([false, true, false, true]);
    expect((await ctx.admin.requests()).map((r) => r.status)).toEqual([401, 401, 401, 200]);
  });

  it('fails with a clear unauthorized error when the fresh key is rejected too', async () => {
    ctx.emulator.setApiKeys(['something-else']);
    let calls = 0;
    const failure = ctx
      .client({
        apiKey: async () => {
          calls += 1;
          return 'still-wrong-key';
        },
      })
      .getOpportunity('5516cd47-2bd0-4f4f-adc2-22524e54ba4d');
    await expect(failure).rejects.toBeInstanceOf(SalescalingUnauthorizedError);
    await expect(failure).rejects.toThrow(/missing, invalid or expired/);
    expect(calls).toBe(2);
    expect(await ctx.admin.requests()).toHaveLength(2);
  });
});

describe('timeouts and cancellation', () => {
  it('times out a hung GET on every attempt, then fails with a timeout error', async () => {
    await ctx.admin.scriptFaults([{ fault: 'hang', operation: 'listCompanies', times: 2 }]);
    const failure = ctx.client({ timeoutMs: 150, retries: 1 }).listCompanies();
    await expect(failure).rejects.toBeInstanceOf(SalescalingTimeoutError);
    await expect(failure).rejects.toMatchObject({ attempts: 2, outcomeUnknown: false });
    expect((await ctx.admin.requests({ operation: 'listCompanies' })).map((r) => r.outcome)).toEqual([
      'hung',
      'hung',
    ]);
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    await ctx.admin.scriptFaults([{ fault: 'hang', operation: 'listOpportunities' }]);
    const controller = new AbortController();
    const failure = ctx.client({ timeoutMs: 5_000 }).listOpportunities({}, { signal: controller.signal });
    // Abort once the emulator has the request in hand.
    await waitFor(async () => (await ctx.admin.requests({ operation: 'listOpportunities' })).length === 1);
    controller.abort();
    await expect(failure).rejects.toMatchObject({ name: 'AbortError' });
    expect(await ctx.admin.requests({ operation: 'listOpportunities' })).toHaveLength(1);
  });
});

describe('client-side limiter', () => {
  it('holds the request rate across concurrent calls (sliding one-second window)', async () => {
    // Timed where the limiter releases each request: arrival times at the emulator add loopback
    // jitter under load that the limiter neither causes nor controls.
    const limiter = createRequestLimiter({ requestsPerSecond: 4, concurrency: 10 });
    const released: number[] = [];
    const client = ctx.client({
      limiter: {
        schedule: (task, signal) =>
          limiter.schedule(() => {
            released.push(performance.now());
            return task();
          }, signal),
      },
    });
    await Promise.all(Array.from({ length: 10 }, () => client.listOpportunities()));
    expect(await ctx.admin.requests()).toHaveLength(10);
    expect(released).toHaveLength(10);
    for (let i = 0; i + 4 < released.length; i++) {
      // Any five consecutive releases span about a second: p-queue keeps its window on Date.now(),
      // which a loaded machine can see a few ms apart from performance.now(). Five a second (the
      // smallest error that matters) would span 800 ms.
      expect((released[i + 4] ?? 0) - (released[i] ?? 0)).toBeGreaterThanOrEqual(950);
    }
  });

  it('holds the number of requests in flight', async () => {
    await ctx.admin.setFaults({ latencyMs: 40 });
    const client = ctx.client({ limiter: createRequestLimiter({ requestsPerSecond: 1000, concurrency: 2 }) });
    await Promise.all(Array.from({ length: 8 }, () => client.listContacts()));
    expect((await ctx.admin.stats()).requests.maxInFlight).toBe(2);
  });

  it('on the shared budget, a 429 one process gets pauses another for its Retry-After', async () => {
    const dynamoDb = await startTestDynamoDb();
    try {
      await dynamoDb.createTable('budget');
      const process = () => {
        const bucket = new TokenBucket({ client: dynamoDb.client, tableName: 'budget', ratePerSecond: 50 });
        const limiter = createSharedBudgetLimiter({
          bucket,
          fallback: createRequestLimiter({ requestsPerSecond: 1000 }),
          onFallback: () => {
            throw new Error('the table is up: no fallback');
          },
        });
        return { bucket, client: ctx.client({ limiter }) };
      };
      const [a, b] = [process(), process()];
      await ctx.admin.scriptFaults([
        { fault: 'rate-limit', retryAfterSeconds: 1, operation: 'listContacts' },
      ]);
      const first = a.client.listContacts();
      await eventually(
        () => b.bucket.read(),
        (state) => state.pausedUntil > 0,
      );
      await b.client.listCompanies();
      await first;
      const [limited] = await ctx.admin.requests({ operation: 'listContacts' });
      const [other] = await ctx.admin.requests({ operation: 'listCompanies' });
      expect(limited?.status).toBe(429);
      // B never got a 429 itself: it waited out A's.
      expect(other?.status).toBe(200);
      expect((other?.receivedAt ?? 0) - (limited?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
      expect((await b.bucket.read()).rate).toBeLessThan(50);
    } finally {
      await dynamoDb.close();
    }
  });

  it('is shared by every client of the process unless one is given', async () => {
    const { sharedRequestLimiter } = await import('#shared/salescaling/limiter.ts');
    expect(sharedRequestLimiter()).toBe(sharedRequestLimiter());
  });
});

describe('secrets', () => {
  it('never puts the API key in an error, its JSON or its inspection', async () => {
    const secret = 'sk-live-very-secret-value-123';
    ctx.emulator.setApiKeys([secret]);
    const client = ctx.client({ apiKey: async () => secret, timeoutMs: 150, retries: 0 });
    await ctx.admin.scriptFaults([
      { fault: 'error', status: 500, operation: 'listOpportunities' },
      { fault: 'hang', operation: 'listContacts' },
      { fault: 'drop', operation: 'listCompanies' },
      { fault: 'rate-limit', retryAfterSeconds: 100, operation: 'getOpportunity' },
    ]);
    const errors = await Promise.all([
      client.listOpportunities().catch((e: unknown) => e),
      client.listContacts().catch((e: unknown) => e),
      client.listCompanies().catch((e: unknown) => e),
      client.getOpportunity('5516cd47-2bd0-4f4f-adc2-22524e54ba4d').catch((e: unknown) => e),
    ]);
    const wrongKey = await ctx
      .client({ apiKey: async () => `${secret}-old` })
      .listOpportunities()
      .catch((e: unknown) => e);
    for (const error of [...errors, wrongKey]) {
      expect(error).toBeInstanceOf(SalescalingError);
      const text = [
        JSON.stringify(error),
        inspect(error, { depth: 10, showHidden: true }),
        String(error),
      ].join('\n');
      expect(text).not.toContain(secret);
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Polls a condition (no fixed sleeps); fails the test if it never holds. */
async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
