import type { Opportunity } from '#shared/salescaling/schemas.ts';
import type { StaleDealsConfig } from './config.ts';

/**
 * Whether a deal is stale, and why, from the record alone (integrations are checked separately,
 * as they cost a call). Inactivity is measured in elapsed time from `updatedAt`; overdue in whole
 * calendar days of the configured time zone, since a close date is a day, not an instant.
 */
export type Verdict =
  | {
      stale: false;
      reason: 'not-open' | 'active' | 'excluded-priority' | 'excluded-amount' | 'excluded-name';
    }
  | { stale: true; reasons: string[] };

const DAY_MS = 86_400_000;

/** `openStatus`: the account's open status; only deals in it are ever stale. */
export function evaluate(
  deal: Opportunity,
  config: StaleDealsConfig,
  now: Date,
  openStatus: string,
): Verdict {
  if (deal.status !== openStatus) return { stale: false, reason: 'not-open' };
  const reasons: string[] = [];
  if (config.staleAfterDays !== null && deal.updatedAt) {
    const idleMs = now.getTime() - Date.parse(deal.updatedAt);
    if (idleMs >= config.staleAfterDays * DAY_MS) {
      reasons.push(
        `no activity for ${Math.floor(idleMs / DAY_MS)} days (threshold ${config.staleAfterDays})`,
      );
    }
  }
  if (config.overdueGraceDays !== null && deal.closeDate) {
    const overdue = daysBetween(calendarDay(deal.closeDate), todayIn(config.timeZone, now));
    if (overdue > config.overdueGraceDays) {
      reasons.push(
        `close date ${calendarDay(deal.closeDate)} passed ${overdue} days ago (grace ${config.overdueGraceDays})`,
      );
    }
  }
  if (reasons.length === 0) return { stale: false, reason: 'active' };
  if (deal.priority && config.excludePriorities.includes(deal.priority))
    return { stale: false, reason: 'excluded-priority' };
  if (config.excludeAmountAtLeast !== null && (deal.amount ?? 0) >= config.excludeAmountAtLeast) {
    return { stale: false, reason: 'excluded-amount' };
  }
  if (deal.name && config.excludeNamePatterns.some((p) => namePattern(p).test(deal.name ?? ''))) {
    return { stale: false, reason: 'excluded-name' };
  }
  return { stale: true, reasons };
}

/** Exclusion patterns, compiled once per process rather than once per deal. */
const compiledPatterns = new Map<string, RegExp>();
function namePattern(source: string): RegExp {
  let regex = compiledPatterns.get(source);
  if (!regex) {
    regex = new RegExp(source, 'i');
    compiledPatterns.set(source, regex);
  }
  return regex;
}

/** A close date's calendar day as stored (Salescaling writes dates as UTC midnight). */
export function calendarDay(iso: string): string {
  return new Date(Date.parse(iso)).toISOString().slice(0, 10);
}

/** Day formatters per time zone: building one costs far more than using it, and a sweep asks per deal. */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** Today's date (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone: string, now: Date): string {
  let format = dayFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dayFormats.set(timeZone, format);
  }
  return format.format(now);
}

export function daysBetween(fromDay: string, toDay: string): number {
  return Math.round((Date.parse(`${toDay}T00:00:00Z`) - Date.parse(`${fromDay}T00:00:00Z`)) / DAY_MS);
}
