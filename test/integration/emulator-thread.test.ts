import { connect } from 'node:net';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { startEmulator } from '#local/emulator/server.ts';
import { type LocalSystem, startLocalSystem, type ThreadedEmulator } from '#local/tools/system.ts';
import { DEFAULT_OPPORTUNITY_STATUSES } from '#shared/salescaling/assumptions.ts';
import { eventually } from '#test/support/eventually.ts';

/**
 * startLocalSystem's `emulatorThread`: the emulator on a worker thread of its own (the burst
 * benchmarks count arrivals there), reached only over HTTP, a lead synced through it end to end.
 */
let system: LocalSystem<ThreadedEmulator>;

beforeAll(async () => {
  system = await startLocalSystem({
    emulatorThread: true,
    seed: { opportunities: 10, seed: 3, staleShare: 0.5 },
    platform: { salescalingMaxRps: 50, salescalingMaxConcurrency: 4 },
  });
});

afterAll(async () => {
  await system?.close();
});

describe('the emulator in a thread of its own', () => {
  it('runs on another thread than this one, which an in-process emulator does not', async () => {
    const health = await system.admin.health();
    expect(health.threadId).toBe(system.emulator.threadId);
    expect(health.threadId).not.toBe(threadId);
    const inProcess = await startEmulator();
    try {
      expect((await new EmulatorAdmin(inProcess.url).health()).threadId).toBe(threadId);
    } finally {
      await inProcess.close();
    }
  });

  it('serves the runtime: a posted lead becomes an opportunity, read back from its admin log', async () => {
    const before = (await system.admin.stats()).store.opportunities ?? 0;
    const response = await fetch(`${system.runtime.url}/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@thread.example.com', name: 'Ada', company: 'Thread Co' }),
    });
    expect(response.status).toBe(202);
    const created = await eventually(
      () => system.admin.requests({ operation: 'createOpportunity' }),
      (requests) => requests.some((r) => r.status === 200),
    );
    expect(created.filter((r) => r.status === 200)).toHaveLength(1);
    expect((await system.admin.stats()).store.opportunities).toBe(before + 1);
  });

  it('says an opportunity’s status over its admin API, and nothing for an unknown id', async () => {
    const stale = system.emulator.seeded?.staleOpportunityIds ?? [];
    expect(stale.length).toBeGreaterThan(0);
    expect(await system.admin.opportunityStatus(stale[0] as string)).toBe(DEFAULT_OPPORTUNITY_STATUSES.open);
    expect(await system.admin.opportunityStatus('no-such-opportunity')).toBeUndefined();
    // Not an id: no such admin route.
    const odd = await fetch(`${system.emulator.url}/_emulator/opportunities/${'x'.repeat(65)}`);
    expect(odd.status).toBe(404);
  });

  it('keeps its loopback guard on the new admin route', async () => {
    const id = system.emulator.seeded?.staleOpportunityIds[0] as string;
    const socket = connect(system.emulator.port, '127.0.0.1');
    socket.write(
      `GET /_emulator/opportunities/${id} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    );
    let text = '';
    socket.setEncoding('utf8');
    for await (const chunk of socket) text += chunk;
    expect(text).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('watches its own loop and reports the stalls there', async () => {
    await system.emulator.watchLoop(32);
    await system.admin.stats();
    const report = await system.emulator.loopReport();
    expect(report?.stalls).toBeInstanceOf(Array);
    expect(report?.delayMaxMs).toBeGreaterThanOrEqual(0);
    // Stopped: a second report has nothing to say.
    expect(await system.emulator.loopReport()).toBeUndefined();
  });
});
