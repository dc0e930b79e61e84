import { describe, expect, it } from 'vitest';
import { type StaleDealsConfigInput, staleDealsConfigSchema } from '#functions/stale-deals/config.ts';
import type { SweepRun } from '#functions/stale-deals/run-store.ts';
import { LeaseLostError, type SweepCollaborators, sweep } from '#functions/stale-deals/sweep.ts';
import { events, MAX_SWEEP_STEPS } from '#shared/events/catalog.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { opportunityStatusesSchema } from '#shared/salescaling/assumptions.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { type Opportunity, opportunitySchema } from '#shared/salescaling/schemas.ts';
import { eventually } from '#test/support/eventually.ts';
import { MemoryRunStore } from './memory-run-store.ts';

/**
 * The sweep as one unit: a fake Salescaling client (an in-memory list of deals), a recording
 * publisher and the in-memory run store (held to DynamoDB's contract by run-store.test.ts).
 */
const NOW = new Date('2026-11-28T05:00:00.000Z');
const LONG_AGO = '2026-01-01T00:00:00.000Z';
const uuid = (n: number) => `1f3a9c2e-0000-4000-8000-${String(n).padStart(12, '0')}`;

class FakeSalescaling {
  readonly deals: Opportunity[];
  readonly calls: string[] = [];
  /** Throws (not a Salescaling error) on the close after this many. */
  crashAfterCloses = Number.POSITIVE_INFINITY;
  /** Closes of these deals wait until the promise settles (to hold a page's closes open). */
  readonly gates = new Map<string, Promise<void>>();
  constructor(count: number) {
    this.deals = Array.from({ length: count }, (_, i) =>
      opportunitySchema.parse({ id: uuid(1000 + i), name: `Deal ${i}`, status: 'open', updatedAt: LONG_AGO }),
    );
  }
  async listOpportunities(query: { page?: number; limit?: number }) {
    this.calls.push(`list ${query.page}`);
    const limit = query.limit ?? 100;
    const start = ((query.page ?? 1) - 1) * limit;
    return { items: this.deals.slice(start, start + limit).map((d) => ({ ...d })) };
  }
  async listOpportunityIntegrations() {
    return { integrations: [] };
  }
  async updateOpportunity(id: string, change: (current: Opportunity) => Partial<Opportunity>) {
    if (this.closed().length >= this.crashAfterCloses) throw new Error('the invocation died');
    this.calls.push(`update ${id}`);
    const gate = this.gates.get(id);
    if (gate) await gate;
    const deal = this.deals.find((d) => d.id === id);
    if (!deal) throw new Error(`no deal ${id}`);
    Object.assign(deal, change({ ...deal }), { updatedAt: NOW.toISOString() });
    return { ...deal };
  }
  closed() {
    return this.deals.filter((d) => d.status === 'lost');
  }
}

function setup(options: { deals?: number; config?: Partial<StaleDealsConfigInput> } = {}) {
  const salescaling = new FakeSalescaling(options.deals ?? 10);
  const runs = new MemoryRunStore();
  const published: Array<{ detailType: string; detail: Record<string, unknown> }> = [];
  let failPublishOf: string | undefined;
  const publisher: EventPublisher = {
    publish: async (detailType, detail) => {
      if (detailType === failPublishOf) throw new Error('EventBridge is away');
      published.push({ detailType, detail: detail as Record<string, unknown> });
      return { eventId: String(published.length) };
    },
  };
  let ids = 0;
  let clock = NOW.getTime();
  const deps = (overrides: Partial<SweepCollaborators> = {}): SweepCollaborators => ({
    client: salescaling as unknown as SalescalingClient,
    publisher,
    runs,
    config: staleDealsConfigSchema.parse({ dryRun: false, pageSize: 3, ...options.config }),
    statuses: opportunityStatusesSchema.parse({}),
    now: () => new Date(clock),
    remainingMs: () => 600_000,
    newId: () => uuid(++ids),
    ...overrides,
  });
  return {
    salescaling,
    runs,
    published,
    deps,
    ofType: (type: string) => published.filter((e) => e.detailType === type).map((e) => e.detail),
    failPublishing: (type: string | undefined) => {
      failPublishOf = type;
    },
    advanceClock: (ms: number) => {
      clock += ms;
    },
  };
}

/** Time runs short after `pages` pages in this invocation. */
const shortAfter = (pages: number) => {
  let checks = 0;
  return () => (checks++ < pages ? 600_000 : 1_000);
};

/** A run record as the sweep writes it, for forging states the sweep would reach. */
/**
 * A clock of the time left that, the nth time the step asks, hands run 900's lease to another
 * invocation (as if this one had run out).
 */
const takenOverAtCheck = (records: Map<string, SweepRun>, n: number) => {
  let checks = 0;
  return () => {
    if (++checks === n) {
      const run = records.get(uuid(900));
      if (run) records.set(uuid(900), { ...run, leaseId: 'someone-else' });
    }
    return 600_000;
  };
};

const record = (fields: Partial<SweepRun>): SweepRun => ({
  runId: uuid(900),
  status: 'running',
  dryRun: false,
  referenceTime: NOW.toISOString(),
  startedAt: NOW.toISOString(),
  page: 1,
  step: 1,
  totals: { scanned: 0, stale: 0, closed: 0, wouldClose: [], skipped: {}, errors: 0 },
  closesAttempted: 0,
  capReached: false,
  expiresAt: 1_800_000_000,
  ...fields,
});

describe('a continuation carries no authority', () => {
  it('for an unknown run is refused, with nothing read, written or published', async () => {
    const t = setup();
    const outcome = await sweep({ kind: 'continuation', runId: uuid(77), step: 1 }, t.deps());
    expect(outcome).toMatchObject({ outcome: 'refused', reason: 'unknown-run', runId: uuid(77), step: 1 });
    expect(t.salescaling.calls).toEqual([]);
    expect(t.runs.writes).toEqual([]);
    expect(t.published).toEqual([]);
  });

  it.each(['completed', 'abandoned'] as const)('for a %s run is refused', async (status) => {
    const t = setup();
    t.runs.records.set(uuid(900), record({ status }));
    const outcome = await sweep({ kind: 'continuation', runId: uuid(900), step: 1 }, t.deps());
    expect(outcome).toMatchObject({
      outcome: 'refused',
      reason: 'run-finished',
      message: `the run is ${status}`,
    });
    expect(t.salescaling.calls).toEqual([]);
    expect(t.runs.writes).toEqual([]);
  });

  it.each([
    [1, /step 1 already ran \(the run is at step 2\)/],
    [3, /step 3 is not due \(the run is at step 2\)/],
  ])('for step %s of a run at step 2 is refused', async (step, message) => {
    const t = setup();
    t.runs.records.set(uuid(900), record({ step: 2 }));
    const outcome = await sweep({ kind: 'continuation', runId: uuid(900), step }, t.deps());
    expect(outcome).toMatchObject({ outcome: 'refused', reason: 'not-the-next-step', message });
    expect(t.salescaling.calls).toEqual([]);
  });

  it('replayed while its step runs, is refused: the step runs once', async () => {
    const t = setup({ deals: 9 });
    t.runs.records.set(uuid(900), record({ step: 1 }));
    const start = { kind: 'continuation', runId: uuid(900), step: 1 } as const;
    const [first, second] = await Promise.all([sweep(start, t.deps()), sweep(start, t.deps())]);
    expect([first.outcome, second.outcome].sort()).toEqual(['completed', 'refused']);
    expect([first, second].find((o) => o.outcome === 'refused')).toMatchObject({
      reason: 'step-in-progress',
    });
    expect(t.salescaling.calls.filter((c) => c === 'list 1')).toHaveLength(1);
    expect(t.salescaling.closed()).toHaveLength(9);
    expect(t.ofType('Opportunity Closed As Stale')).toHaveLength(9);
  });

  it('takes dry run and reference time from the run record, whatever the stage now says', async () => {
    // The record says dry run and a reference time before any deal went idle: nothing is stale.
    const t = setup({ config: { dryRun: false } });
    t.runs.records.set(uuid(900), record({ referenceTime: '2026-01-15T00:00:00.000Z' }));
    await sweep({ kind: 'continuation', runId: uuid(900), step: 1 }, t.deps());
    expect(t.salescaling.closed()).toEqual([]);
    expect(t.ofType('Stale Sweep Completed')).toEqual([expect.objectContaining({ stale: 0, closed: 0 })]);

    const dry = setup({ config: { dryRun: false } });
    dry.runs.records.set(uuid(900), record({ dryRun: true }));
    await sweep({ kind: 'continuation', runId: uuid(900), step: 1 }, dry.deps());
    expect(dry.salescaling.calls.filter((c) => c.startsWith('update'))).toEqual([]);
    expect(dry.ofType('Stale Sweep Completed')).toEqual([
      expect.objectContaining({ dryRun: true, stale: 10, closed: 0, wouldClose: expect.any(Array) }),
    ]);
  });

  it('takes the cap from the stage configuration at each step, against every close of the run', async () => {
    const t = setup({ config: { maxClosesPerRun: 5 } });
    t.runs.records.set(
      uuid(900),
      record({ closesAttempted: 4, totals: { ...record({}).totals, closed: 4 } }),
    );
    const outcome = await sweep({ kind: 'continuation', runId: uuid(900), step: 1 }, t.deps());
    expect(outcome).toMatchObject({ outcome: 'completed', capReached: true });
    expect(t.salescaling.closed()).toHaveLength(1);
    expect(t.ofType('Stale Sweep Completed')).toEqual([
      expect.objectContaining({ closed: 5, capReached: true }),
    ]);
  });

  it('has no room for totals, dry run or a reference time in the event', () => {
    const forged = {
      schemaVersion: 1,
      runId: uuid(900),
      page: 1,
      referenceTime: '2099-01-01T00:00:00.000Z',
      startedAt: '2099-01-01T00:00:00.000Z',
      dryRun: false,
      continuations: 1,
      totals: { scanned: 0, stale: 0, closed: -100_000, wouldClose: [], skipped: {}, errors: 0 },
    };
    expect(events.staleSweepContinued.schema.safeParse(forged).success).toBe(false);
    expect(
      events.staleSweepContinued.schema.safeParse({ ...forged, schemaVersion: 2, step: 1 }).success,
    ).toBe(false);
    expect(events.staleSweepContinued.schema.parse({ schemaVersion: 2, runId: uuid(900), step: 1 })).toEqual({
      schemaVersion: 2,
      runId: uuid(900),
      step: 1,
    });
    for (const step of [0, -1, 1.5, MAX_SWEEP_STEPS + 1]) {
      expect(
        events.staleSweepContinued.schema.safeParse({ schemaVersion: 2, runId: uuid(900), step }).success,
      ).toBe(false);
    }
  });

  it('never records a negative total', async () => {
    const t = setup();
    t.runs.records.set(uuid(900), record({ leaseId: 'x', leaseUntil: 0 }));
    await expect(
      t.runs.update(
        uuid(900),
        { step: 1, leaseId: 'x' },
        { totals: { ...record({}).totals, closed: -100_000 } },
      ),
    ).rejects.toThrow(/closed/);
    expect((await t.runs.get(uuid(900)))?.totals.closed).toBe(0);
  });
});

describe('a run across invocations', () => {
  it('starts from the stage configuration, or the schedule input, and records it', async () => {
    const t = setup({ config: { dryRun: true } });
    const dry = await sweep({ kind: 'schedule' }, t.deps());
    expect(await t.runs.get(dry.runId)).toMatchObject({ dryRun: true, status: 'completed', step: 0 });
    const real = await sweep({ kind: 'schedule', dryRun: false }, t.deps());
    expect(await t.runs.get(real.runId)).toMatchObject({
      dryRun: false,
      status: 'completed',
      referenceTime: NOW.toISOString(),
      totals: { closed: 10 },
    });
  });

  it('continues step by step and completes once; each step refused when replayed', async () => {
    const t = setup({ deals: 10 });
    let outcome = await sweep({ kind: 'schedule' }, t.deps({ remainingMs: shortAfter(1) }));
    const runId = outcome.runId;
    const steps: number[] = [];
    while (outcome.outcome === 'continued') {
      const { step } = outcome;
      steps.push(step);
      expect(t.ofType('Stale Sweep Continued').at(-1)).toEqual({ schemaVersion: 2, runId, step });
      outcome = await sweep({ kind: 'continuation', runId, step }, t.deps({ remainingMs: shortAfter(1) }));
    }
    expect(steps).toEqual([1, 2, 3]); // 10 deals, 3 a page: four pages, one a step
    expect(outcome).toMatchObject({ outcome: 'completed', steps: 4, totals: { scanned: 10, closed: 10 } });
    expect(t.ofType('Stale Sweep Completed')).toEqual([
      expect.objectContaining({ runId, scanned: 10, closed: 10, continuations: 3 }),
    ]);
    for (const step of steps) {
      expect(await sweep({ kind: 'continuation', runId, step }, t.deps())).toMatchObject({
        outcome: 'refused',
        reason: 'run-finished',
      });
    }
    expect(t.salescaling.calls.filter((c) => c.startsWith('list'))).toEqual([
      'list 1',
      'list 2',
      'list 3',
      'list 4',
    ]);
  });

  it("reads the next page while a page's deals close, and none after a short page", async () => {
    const t = setup({ deals: 7 });
    const outcome = await sweep({ kind: 'schedule' }, t.deps());
    expect(outcome).toMatchObject({ outcome: 'completed', totals: { scanned: 7, closed: 7 } });
    const pageOf = (id: string) => Math.floor(t.salescaling.deals.findIndex((d) => d.id === id) / 3) + 1;
    // Each page read ahead of the previous page's closes; page 3 (one deal) is the last read.
    expect(
      t.salescaling.calls.map((c) => (c.startsWith('update') ? `close p${pageOf(c.slice(7))}` : c)),
    ).toEqual([
      'list 1',
      'list 2',
      'close p1',
      'close p1',
      'close p1',
      'list 3',
      'close p2',
      'close p2',
      'close p2',
      'close p3',
    ]);
  });

  it("starts a page's closes while the previous page's finish, two pages at most, and checkpoints only finished pages", async () => {
    const t = setup({ deals: 9 });
    let release = () => {};
    // Page 1's last close hangs until released.
    t.salescaling.gates.set(uuid(1002), new Promise<void>((resolve) => (release = resolve)));
    const running = sweep({ kind: 'schedule' }, t.deps());
    const closedPages = () =>
      t.salescaling.calls
        .filter((c) => c.startsWith('update'))
        .map((c) => Math.floor(t.salescaling.deals.findIndex((d) => d.id === c.slice(7)) / 3) + 1);
    await eventually(closedPages, (pages) => pages.length === 6);
    expect(closedPages()).toEqual([1, 1, 1, 2, 2, 2]);
    const [run] = t.runs.records.values();
    // Page 2 closed, page 1 not finished: the record still says page 1. Page 3 is read and its
    // closes counted (before they are made), but they wait for page 1.
    expect(run).toMatchObject({ page: 1, totals: { scanned: 0, closed: 0 }, closesAttempted: 9 });
    expect(closedPages()).not.toContain(3);
    release();
    expect(await running).toMatchObject({ outcome: 'completed', totals: { scanned: 9, closed: 9 } });
    expect(t.ofType('Opportunity Closed As Stale')).toHaveLength(9);
  });

  it('reads at least one page per step, so a run always moves on', async () => {
    const t = setup({ deals: 4 });
    const first = await sweep({ kind: 'schedule' }, t.deps({ remainingMs: () => 1 }));
    expect(first).toMatchObject({ outcome: 'continued', step: 1, page: 2 });
    expect(t.salescaling.calls.filter((c) => c.startsWith('list'))).toEqual(['list 1']);
  });

  it('stops a run after the step limit', async () => {
    const t = setup({ deals: 9 });
    t.runs.records.set(uuid(900), record({ step: MAX_SWEEP_STEPS }));
    const outcome = await sweep(
      { kind: 'continuation', runId: uuid(900), step: MAX_SWEEP_STEPS },
      t.deps({ remainingMs: shortAfter(1) }),
    );
    expect(outcome).toMatchObject({ outcome: 'abandoned' });
    expect(await t.runs.get(uuid(900))).toMatchObject({ status: 'abandoned' });
    expect(t.ofType('Stale Sweep Continued')).toEqual([]);
  });

  it('gives the step back when the continuation cannot be published, so the retry continues', async () => {
    const t = setup({ deals: 6 });
    t.runs.records.set(uuid(900), record({ step: 1 }));
    t.failPublishing('Stale Sweep Continued');
    const start = { kind: 'continuation', runId: uuid(900), step: 1 } as const;
    await expect(sweep(start, t.deps({ remainingMs: shortAfter(1) }))).rejects.toThrow(/EventBridge is away/);
    expect(await t.runs.get(uuid(900))).toMatchObject({ status: 'running', step: 1, page: 2 });
    expect((await t.runs.get(uuid(900)))?.leaseId).toBeUndefined();

    t.failPublishing(undefined);
    expect(await sweep(start, t.deps())).toMatchObject({ outcome: 'completed', totals: { closed: 6 } });
    expect(t.salescaling.closed()).toHaveLength(6);
    expect(t.ofType('Opportunity Closed As Stale')).toHaveLength(6);
  });

  it('abandons a scheduled start that fails (its retry starts a new run)', async () => {
    const t = setup({ deals: 6 });
    t.salescaling.crashAfterCloses = 1;
    await expect(sweep({ kind: 'schedule' }, t.deps())).rejects.toThrow(/died/);
    const [run] = t.runs.records.values();
    expect(run).toMatchObject({ status: 'abandoned', reason: 'Error: the invocation died' });
  });

  it('keeps the cap when a step dies mid-page and is run again', async () => {
    const t = setup({ deals: 9, config: { maxClosesPerRun: 4, pageSize: 9 } });
    t.runs.records.set(uuid(900), record({ step: 1 }));
    t.salescaling.crashAfterCloses = 2;
    const start = { kind: 'continuation', runId: uuid(900), step: 1 } as const;
    await expect(sweep(start, t.deps())).rejects.toThrow(/died/);
    t.salescaling.crashAfterCloses = Number.POSITIVE_INFINITY;
    await sweep(start, t.deps());
    expect(t.salescaling.closed().length).toBeLessThanOrEqual(4);
    expect(await t.runs.get(uuid(900))).toMatchObject({ status: 'completed', capReached: true });
  });

  it('when its step is taken over, fails only after the closes under way have finished', async () => {
    const t = setup({ deals: 9 });
    t.runs.records.set(uuid(900), record({ step: 1 }));
    let release = () => {};
    t.salescaling.gates.set(uuid(1002), new Promise<void>((resolve) => (release = resolve)));
    // Taken over once page 2 has been read (the third time the step asks for the time left).
    const remainingMs = takenOverAtCheck(t.runs.records, 3);
    let settled = false;
    const running = sweep({ kind: 'continuation', runId: uuid(900), step: 1 }, t.deps({ remainingMs }));
    running.then(
      () => (settled = true),
      () => (settled = true),
    );
    // Page 2's close count could not be written: the step is lost, but page 1's last close is under way.
    await eventually(() => t.runs.writes.some((w) => w.op === 'update' && !w.ok), Boolean);
    expect(settled).toBe(false);
    release();
    await expect(running).rejects.toBeInstanceOf(LeaseLostError);
    expect(t.salescaling.closed()).toHaveLength(3);
  });

  it('stops writing when another invocation took its step over', async () => {
    const t = setup({ deals: 9 });
    t.runs.records.set(uuid(900), record({ step: 1 }));
    const start = { kind: 'continuation', runId: uuid(900), step: 1 } as const;
    // After the first page, this invocation's lease is taken by another after it ran out. (Time is
    // asked for at the start, after page 1 before reading ahead, and before page 2.)
    const remainingMs = takenOverAtCheck(t.runs.records, 3);
    await expect(sweep(start, t.deps({ remainingMs }))).rejects.toBeInstanceOf(LeaseLostError);
    // Page 2 was read, but none of its deals closed: the close count could not be recorded.
    expect(t.salescaling.closed()).toHaveLength(3);
    expect(t.ofType('Stale Sweep Completed')).toEqual([]);
  });
});
