import { randomUUID } from 'node:crypto';
import { type EventDetail, events } from '#shared/events/catalog.ts';
import { type EventPublisher, publishEvent } from '#shared/events/publisher.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { SalescalingError } from '#shared/salescaling/errors.ts';
import type { Opportunity } from '#shared/salescaling/schemas.ts';
import type { StaleDealsConfig } from './config.ts';
import { evaluate } from './rules.ts';

/**
 * One stale-deal sweep: every opportunity, page by page, judged by the rules against one reference
 * time, and each page's stale ones closed side by side through the client's safe update — unless
 * closed or edited since it was read. When time runs short the sweep publishes `Stale Sweep Continued` with its cursor
 * (the next page, the totals, the reference time) and the same function resumes there. Pages are
 * checkpoints: a page is finished before continuing, and a page run twice (after a crash) closes
 * nothing twice, because closed deals are skipped.
 */
/** The cursor is the detail of `Stale Sweep Continued` (its schema is in the event catalog). */
export type SweepCursor = Omit<EventDetail<typeof events.staleSweepContinued>, 'schemaVersion'>;
type Totals = SweepCursor['totals'];

export interface SweepCollaborators {
  client: SalescalingClient;
  publisher: EventPublisher;
  config: StaleDealsConfig;
  now: () => Date;
  /** Time left in this invocation. */
  remainingMs: () => number;
  /** Continue in a new invocation when less than this is left before a page (default 60 s). */
  marginMs?: number | undefined;
  log?: ((message: string, extra: Record<string, unknown>) => void) | undefined;
}

export type SweepOutcome =
  | { outcome: 'completed'; totals: Totals; capReached: boolean; runId: string }
  | { outcome: 'continued'; cursor: SweepCursor };

/** Why a stale deal was not closed after all. */
class SkipDeal extends Error {
  readonly reason: 'already-closed' | 'changed-since-read';
  constructor(reason: 'already-closed' | 'changed-since-read') {
    super(reason);
    this.reason = reason;
  }
}

const WOULD_CLOSE_LIMIT = 500;

export async function sweep(
  start: { cursor?: SweepCursor | undefined; dryRun?: boolean | undefined },
  deps: SweepCollaborators,
): Promise<SweepOutcome> {
  const { client, config } = deps;
  const now = deps.now();
  const cursor: SweepCursor = start.cursor ?? {
    runId: randomUUID(),
    page: 1,
    referenceTime: now.toISOString(),
    startedAt: now.toISOString(),
    dryRun: start.dryRun ?? config.dryRun,
    continuations: 0,
    totals: { scanned: 0, stale: 0, closed: 0, wouldClose: [], skipped: {}, errors: 0 },
  };
  const { totals, dryRun, runId } = cursor;
  const referenceTime = new Date(cursor.referenceTime);
  const skip = (reason: string) => {
    totals.skipped[reason] = (totals.skipped[reason] ?? 0) + 1;
  };
  const actedOn = () => (dryRun ? totals.wouldClose.length : totals.closed);
  let page = cursor.page;
  let capReached = false;

  for (;;) {
    if (deps.remainingMs() < (deps.marginMs ?? 60_000)) {
      const next: SweepCursor = { ...cursor, page, continuations: cursor.continuations + 1 };
      await publishEvent(deps.publisher, events.staleSweepContinued, next);
      deps.log?.('Stale sweep continues in a new invocation', { runId, page });
      return { outcome: 'continued', cursor: next };
    }
    const { items } = await client.listOpportunities({ page, limit: config.pageSize });
    const toClose: { deal: Opportunity; reasons: string[] }[] = [];
    for (const deal of items) {
      totals.scanned += 1;
      const verdict = evaluate(deal, config, referenceTime);
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
      totals.stale += 1;
      if (actedOn() + toClose.length >= config.maxClosesPerRun) {
        capReached = true;
        break;
      }
      if (dryRun) {
        if (totals.wouldClose.length < WOULD_CLOSE_LIMIT) totals.wouldClose.push(deal.id);
        deps.log?.('Would close stale deal (dry run)', {
          runId,
          opportunityId: deal.id,
          reasons: verdict.reasons,
        });
        continue;
      }
      toClose.push({ deal, reasons: verdict.reasons });
    }
    // A page's stale deals are closed side by side: the client's limiter keeps them within the
    // request budget and concurrency, and the page is finished before the next one is read.
    const closes = await Promise.allSettled(
      toClose.map(({ deal, reasons }) => close(deal, reasons, cursor, deps)),
    );
    for (const [index, result] of closes.entries()) {
      if (result.status === 'fulfilled') {
        totals.closed += 1;
        continue;
      }
      const error: unknown = result.reason;
      if (error instanceof SkipDeal) skip(error.reason);
      else if (error instanceof SalescalingError) {
        totals.errors += 1;
        deps.log?.('Could not close stale deal', {
          runId,
          opportunityId: toClose[index]?.deal.id,
          error: error.toJSON(),
        });
      } else throw error;
    }
    if (capReached || items.length < config.pageSize) break;
    page += 1;
  }

  const finishedAt = deps.now();
  await publishEvent(deps.publisher, events.staleSweepCompleted, {
    runId,
    dryRun,
    ...totals,
    capReached,
    continuations: cursor.continuations,
    startedAt: cursor.startedAt,
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - Date.parse(cursor.startedAt),
  });
  if (capReached)
    deps.log?.('Stale sweep stopped at its cap', { runId, maxClosesPerRun: config.maxClosesPerRun });
  return { outcome: 'completed', totals, capReached, runId };
}

async function close(
  deal: Opportunity,
  reasons: string[],
  cursor: SweepCursor,
  deps: SweepCollaborators,
): Promise<void> {
  const { config } = deps;
  const stamp = deps
    .now()
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  const note = `[${stamp}] Closed as stale by salescaling-automation (run ${cursor.runId.slice(0, 8)}): ${reasons.join('; ')}.`;
  let before: Opportunity | undefined;
  const after = await deps.client.updateOpportunity(deal.id, (current) => {
    // Skip a deal someone closed or edited since the page was read: never overwrite newer work.
    if (current.status !== config.openStatus) throw new SkipDeal('already-closed');
    if (current.updatedAt !== deal.updatedAt) throw new SkipDeal('changed-since-read');
    before = current;
    return {
      status: config.closedStatus,
      closeProbability: 0,
      featuredNotes: current.featuredNotes ? `${current.featuredNotes}\n${note}` : note,
    };
  });
  await publishEvent(deps.publisher, events.opportunityClosedAsStale, {
    opportunityId: deal.id,
    runId: cursor.runId,
    reasons,
    before: {
      status: before?.status,
      closeProbability: before?.closeProbability,
      updatedAt: before?.updatedAt,
    },
    after: { status: after.status, closeProbability: after.closeProbability, updatedAt: after.updatedAt },
  });
}
