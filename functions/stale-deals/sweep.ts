import { randomUUID } from 'node:crypto';
import { events, MAX_SWEEP_STEPS, WOULD_CLOSE_LIMIT } from '#shared/events/catalog.ts';
import { type EventPublisher, publishEvent } from '#shared/events/publisher.ts';
import type { OpportunityStatuses } from '#shared/salescaling/assumptions.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { SalescalingError } from '#shared/salescaling/errors.ts';
import type { Opportunity } from '#shared/salescaling/schemas.ts';
import type { StaleDealsConfig } from './config.ts';
import { evaluate } from './rules.ts';
import {
  expiresAt,
  type SweepRun,
  type SweepRunChanges,
  type SweepRunStore,
  type SweepTotals,
} from './run-store.ts';

/**
 * One stale-deal sweep: every opportunity, page by page, judged by the rules against one reference
 * time, and each page's stale ones closed side by side through the client's safe update — unless
 * closed or edited since it was read.
 *
 * A run's state lives in its run record (see run-store.ts), written only here: dry run (the stage's
 * configuration, or the schedule input's override), reference time, next page, totals. When time
 * runs short the sweep moves the record to the next step and publishes `Stale Sweep Continued`,
 * which names only the run and that step; the next invocation claims the step in the record and
 * resumes from it. Cap, rules and page size come from the stage's configuration at every step. A
 * continuation for an unknown or finished run, or for any step but the one due, is refused, so a
 * forged or replayed event can neither change how a run behaves nor run a step twice. Pages are
 * checkpoints in the record; a page run again after a crash closes nothing twice, because closed
 * deals are skipped, and closes are counted before they are made, so the cap holds across crashes.
 */
export type SweepStart =
  | { kind: 'schedule'; dryRun?: boolean | undefined }
  | { kind: 'continuation'; runId: string; step: number };

export interface SweepCollaborators {
  client: SalescalingClient;
  publisher: EventPublisher;
  runs: SweepRunStore;
  config: StaleDealsConfig;
  /** The account's statuses: only `open` deals are judged, and a stale one is closed as `lost`. */
  statuses: OpportunityStatuses;
  now: () => Date;
  /** Time left in this invocation. */
  remainingMs: () => number;
  /** Continue in a new invocation when less than this is left before a page (default 60 s). */
  marginMs?: number | undefined;
  log?: ((message: string, extra: Record<string, unknown>) => void) | undefined;
  /** New run and lease ids (default random UUIDs). */
  newId?: (() => string) | undefined;
}

export type RefusalReason = 'unknown-run' | 'run-finished' | 'not-the-next-step' | 'step-in-progress';

export type SweepOutcome =
  | { outcome: 'completed'; runId: string; totals: SweepTotals; capReached: boolean; steps: number }
  | { outcome: 'continued'; runId: string; step: number; page: number }
  | { outcome: 'abandoned'; runId: string; reason: string }
  | { outcome: 'refused'; runId: string; step: number; reason: RefusalReason; message: string };

/** Why a stale deal was not closed after all. */
class SkipDeal extends Error {
  readonly reason: 'already-closed' | 'changed-since-read';
  constructor(reason: 'already-closed' | 'changed-since-read') {
    super(reason);
    this.reason = reason;
  }
}

/** The run's record moved on without this invocation (its lease ran out and another took the step). */
export class LeaseLostError extends Error {
  constructor(runId: string, step: number) {
    super(`Stale sweep ${runId} step ${step}: the run record moved on without this invocation`);
    this.name = 'LeaseLostError';
  }
}

/**
 * How many pages' closes may run at once. With one, every page ended on its slowest close with the
 * request slots idle (1.5× the sweep's lower bound); with two, the next page's closes fill them and
 * the record is at most two pages behind what was closed (docs/stale-sweep-runs.md). Three gained
 * nothing more (docs/performance.md).
 */
const PAGES_CLOSING = 2;

export async function sweep(start: SweepStart, deps: SweepCollaborators): Promise<SweepOutcome> {
  const newId = deps.newId ?? randomUUID;
  const now = deps.now();
  const leaseId = newId();
  const lease = { id: leaseId, until: now.getTime() + deps.remainingMs() };
  let run: SweepRun;
  if (start.kind === 'schedule') {
    run = {
      runId: newId(),
      status: 'running',
      dryRun: start.dryRun ?? deps.config.dryRun,
      referenceTime: now.toISOString(),
      startedAt: now.toISOString(),
      page: 1,
      step: 0,
      totals: { scanned: 0, stale: 0, closed: 0, wouldClose: [], skipped: {}, errors: 0 },
      closesAttempted: 0,
      capReached: false,
      leaseId,
      leaseUntil: lease.until,
      expiresAt: expiresAt(now),
    };
    await deps.runs.create(run);
  } else {
    const found = await deps.runs.get(start.runId);
    const refusal = refuse(start, found, now);
    if (refusal) return refusal;
    if (!(await deps.runs.claim(start.runId, start.step, lease, now.getTime()))) {
      // Someone got there between the read and the claim: say who.
      return (
        refuse(start, await deps.runs.get(start.runId), now) ??
        refused(start, 'step-in-progress', 'another invocation claimed this step first')
      );
    }
    run = { ...(found as SweepRun), leaseId, leaseUntil: lease.until };
  }
  try {
    return await runStep(run, lease, deps);
  } catch (error) {
    // Best effort, then the error goes on to the retry: a failed continuation frees its step for
    // the queue's next delivery; a failed scheduled start is abandoned, as its retry starts a new run.
    const changes: SweepRunChanges =
      start.kind === 'schedule'
        ? {
            status: 'abandoned',
            reason: describe(error),
            finishedAt: deps.now().toISOString(),
            leaseId: null,
          }
        : { leaseId: null };
    await deps.runs.update(run.runId, { step: run.step, leaseId }, changes).catch(() => false);
    throw error;
  }
}

function refuse(
  start: { runId: string; step: number },
  run: SweepRun | undefined,
  now: Date,
): SweepOutcome | undefined {
  if (!run)
    return refused(start, 'unknown-run', 'no such run: the sweep never started it, or its record expired');
  if (run.status !== 'running') return refused(start, 'run-finished', `the run is ${run.status}`);
  if (run.step !== start.step) {
    return refused(
      start,
      'not-the-next-step',
      start.step < run.step
        ? `step ${start.step} already ran (the run is at step ${run.step}): a duplicate or a replay`
        : `step ${start.step} is not due (the run is at step ${run.step})`,
    );
  }
  if (run.leaseId && (run.leaseUntil ?? 0) >= now.getTime())
    return refused(start, 'step-in-progress', 'another invocation is running this step: a duplicate');
  return undefined;
}

const refused = (
  start: { runId: string; step: number },
  reason: RefusalReason,
  message: string,
): SweepOutcome => ({ outcome: 'refused', runId: start.runId, step: start.step, reason, message });

async function runStep(
  run: SweepRun,
  lease: { id: string; until: number },
  deps: SweepCollaborators,
): Promise<SweepOutcome> {
  const { client, config, runs } = deps;
  const { runId, dryRun } = run;
  const expected = { step: run.step, leaseId: lease.id };
  const marginMs = deps.marginMs ?? 60_000;
  /**
   * Every write is conditional on this invocation still holding the run's step. Writes go out one at
   * a time in the order they were asked for (each with the values of that moment), so a later state
   * never lands before an earlier one; once one fails, every later one fails with it.
   */
  let writes: Promise<void> = Promise.resolve();
  const write = (changes: SweepRunChanges): Promise<void> => {
    const snapshot = structuredClone(changes);
    writes = writes.then(async () => {
      if (!(await runs.update(runId, expected, snapshot))) throw new LeaseLostError(runId, run.step);
    });
    // Awaited where it matters (before closes, at the end of the step); never unobserved.
    writes.catch(() => {});
    return writes;
  };
  /** The totals of every finished page: what the record's page (the checkpoint) stands for. */
  const totals = structuredClone(run.totals);
  const referenceTime = new Date(run.referenceTime);
  let { page, closesAttempted } = run;
  let capReached = false;
  let pagesThisStep = 0;
  /**
   * The next page, read while this page's deals are being closed: the read and the closes share the
   * client's limiter, so the sweep waits on the budget rather than on each page in turn. A read that
   * turns out not to be needed (the cap is reached, or time ran short meanwhile) is one wasted request.
   */
  let prefetched: { page: number; read: ReturnType<typeof client.listOpportunities> } | undefined;
  /**
   * The pages whose closes are still running, oldest first (at most PAGES_CLOSING). When a page's
   * closes have settled, and every page's before it, its totals join `totals` and the checkpoint moves
   * past it, written while later closes run. The record's page is thus the first page not finished:
   * a crash re-does at most PAGES_CLOSING pages, whose closed deals are no longer open and are skipped.
   */
  const closing: Promise<void>[] = [];
  /** Waits until at most `pages` pages' closes are still running (0: all of them settled). */
  const settleClosing = async (pages: number) => {
    while (closing.length > pages) await closing.shift();
  };

  try {
    for (;;) {
      // Every step reads at least one page, so a run always moves on.
      if (pagesThisStep > 0 && deps.remainingMs() < marginMs) {
        await settleClosing(0);
        await writes;
        const next = run.step + 1;
        if (next > MAX_SWEEP_STEPS) {
          const reason = `stopped after ${MAX_SWEEP_STEPS} continuations`;
          await write({ status: 'abandoned', reason, page, totals, closesAttempted, leaseId: null });
          deps.log?.('Stale sweep abandoned', { runId, reason });
          return { outcome: 'abandoned', runId, reason };
        }
        // The record moves to the next step before the event exists, so the event never arrives first.
        await write({ step: next, page, totals, closesAttempted, leaseId: null });
        try {
          await publishEvent(deps.publisher, events.staleSweepContinued, { runId, step: next });
        } catch (error) {
          // Take the step back (unless the event did arrive and its step was claimed), so the failure
          // is handled like any other in this step: its retry publishes again.
          await runs
            .update(
              runId,
              { step: next, leaseId: null },
              { step: run.step, leaseId: lease.id, leaseUntil: lease.until },
            )
            .catch(() => false);
          throw error;
        }
        deps.log?.('Stale sweep continues in a new invocation', { runId, step: next, page });
        return { outcome: 'continued', runId, step: next, page };
      }
      const { items } = await (prefetched?.page === page
        ? prefetched.read
        : client.listOpportunities({ page, limit: config.pageSize }));
      prefetched = undefined;
      pagesThisStep += 1;
      // Only when this step will go on to that page: a step about to hand over reads nothing ahead.
      if (items.length === config.pageSize && deps.remainingMs() >= marginMs) {
        const read = client.listOpportunities({ page: page + 1, limit: config.pageSize });
        // Its failure surfaces when the page is used, and is no one's concern when it is not.
        read.catch(() => {});
        prefetched = { page: page + 1, read };
      }
      /** This page's own counts, added to `totals` once its closes have settled. */
      const tally: SweepTotals = { scanned: 0, stale: 0, closed: 0, wouldClose: [], skipped: {}, errors: 0 };
      const skip = (reason: string) => {
        tally.skipped[reason] = (tally.skipped[reason] ?? 0) + 1;
      };
      const toClose: { deal: Opportunity; reasons: string[] }[] = [];
      for (const deal of items) {
        tally.scanned += 1;
        const verdict = evaluate(deal, config, referenceTime, deps.statuses.open);
        if (!verdict.stale) {
          if (verdict.reason.startsWith('excluded')) skip(verdict.reason);
          continue;
        }
        if (config.excludeIntegrationTypes.length > 0) {
          const { integrations } = await client.listOpportunityIntegrations(deal.id);
          if (
            integrations.some(
              (i) => i.integrationType && config.excludeIntegrationTypes.includes(i.integrationType),
            )
          ) {
            skip('excluded-integration');
            continue;
          }
        }
        tally.stale += 1;
        // The cap as configured now, against every close this run attempted (or would have, in dry run).
        if (closesAttempted + toClose.length >= config.maxClosesPerRun) {
          capReached = true;
          break;
        }
        if (dryRun) {
          closesAttempted += 1;
          tally.wouldClose.push(deal.id);
          deps.log?.('Would close stale deal (dry run)', {
            runId,
            opportunityId: deal.id,
            reasons: verdict.reasons,
          });
          continue;
        }
        toClose.push({ deal, reasons: verdict.reasons });
      }
      if (toClose.length > 0) {
        // Counted before they are made: a crash mid-page cannot let a rerun exceed the cap. Usually
        // written while the previous page's closes still run.
        closesAttempted += toClose.length;
        await write({ closesAttempted });
      }
      await settleClosing(PAGES_CLOSING - 1);
      const last = capReached || items.length < config.pageSize;
      const nextPage = page + 1;
      // A page's stale deals are closed side by side: the client's limiter keeps them within the
      // request budget and concurrency.
      const previous = closing.at(-1);
      const settled = Promise.allSettled(
        toClose.map(({ deal, reasons }) => close(deal, reasons, runId, deps)),
      );
      // Pages are added to the totals and checkpointed in order, whichever page's closes settle first.
      const done = Promise.all([settled, previous]).then(([closes]) => {
        for (const [index, result] of closes.entries()) {
          if (result.status === 'fulfilled') {
            tally.closed += 1;
            continue;
          }
          const error: unknown = result.reason;
          if (error instanceof SkipDeal) skip(error.reason);
          else if (error instanceof SalescalingError) {
            tally.errors += 1;
            deps.log?.('Could not close stale deal', {
              runId,
              opportunityId: toClose[index]?.deal.id,
              error: error.toJSON(),
            });
          } else throw error;
        }
        addTally(totals, tally);
        // The checkpoint: every page before `nextPage` is finished. Not awaited here; the next
        // write (or the end of the step) waits for it.
        if (!last) void write({ page: nextPage, totals, closesAttempted });
      });
      done.catch(() => {});
      closing.push(done);
      if (last) break;
      page = nextPage;
    }
    await settleClosing(0);
    await writes;
  } catch (error) {
    // A failed step leaves no close running behind it: those under way finish (or fail) first.
    await Promise.allSettled(closing);
    throw error;
  }

  const finishedAt = deps.now();
  // Told before it is recorded: a failure in between reruns the last page (closing nothing twice)
  // and tells it again, rather than finishing the run untold.
  await publishEvent(deps.publisher, events.staleSweepCompleted, {
    runId,
    dryRun,
    ...totals,
    capReached,
    continuations: run.step,
    startedAt: run.startedAt,
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - Date.parse(run.startedAt),
  });
  await write({
    status: 'completed',
    page,
    totals,
    closesAttempted,
    capReached,
    finishedAt: finishedAt.toISOString(),
    leaseId: null,
  });
  if (capReached)
    deps.log?.('Stale sweep stopped at its cap', { runId, maxClosesPerRun: config.maxClosesPerRun });
  return { outcome: 'completed', runId, totals, capReached, steps: run.step + 1 };
}

/** A finished page's counts added to the run's (the deals it would close listed up to the limit). */
function addTally(totals: SweepTotals, tally: SweepTotals): void {
  totals.scanned += tally.scanned;
  totals.stale += tally.stale;
  totals.closed += tally.closed;
  totals.errors += tally.errors;
  for (const id of tally.wouldClose)
    if (totals.wouldClose.length < WOULD_CLOSE_LIMIT) totals.wouldClose.push(id);
  for (const [reason, n] of Object.entries(tally.skipped))
    totals.skipped[reason] = (totals.skipped[reason] ?? 0) + n;
}

function describe(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000);
}

async function close(
  deal: Opportunity,
  reasons: string[],
  runId: string,
  deps: SweepCollaborators,
): Promise<void> {
  const { statuses } = deps;
  const closedAt = deps.now();
  const stamp = closedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const note = `[${stamp}] Closed as stale by salescaling-automation (run ${runId.slice(0, 8)}): ${reasons.join('; ')}.`;
  let before: Opportunity | undefined;
  const after = await deps.client.updateOpportunity(deal.id, (current) => {
    // Skip a deal someone closed or edited since the page was read: never overwrite newer work.
    if (current.status !== statuses.open) throw new SkipDeal('already-closed');
    if (current.updatedAt !== deal.updatedAt) throw new SkipDeal('changed-since-read');
    before = current;
    return {
      status: statuses.lost,
      closeProbability: 0,
      // The actual close date (CLOSE_DATE_MEANS): when it was closed, not when the run began.
      closeDate: closedAt,
      featuredNotes: current.featuredNotes ? `${current.featuredNotes}\n${note}` : note,
    };
  });
  await publishEvent(deps.publisher, events.opportunityClosedAsStale, {
    opportunityId: deal.id,
    runId,
    reasons,
    before: {
      status: before?.status,
      closeProbability: before?.closeProbability,
      updatedAt: before?.updatedAt,
    },
    after: { status: after.status, closeProbability: after.closeProbability, updatedAt: after.updatedAt },
  });
}
