import { describe, expect, it } from 'vitest';
import { type StaleDealsConfigInput, staleDealsConfigSchema } from '#functions/stale-deals/config.ts';
import { evaluate } from '#functions/stale-deals/rules.ts';
import { DEFAULT_OPPORTUNITY_STATUSES } from '#shared/salescaling/assumptions.ts';
import { opportunitySchema } from '#shared/salescaling/schemas.ts';

const config = (overrides: Partial<StaleDealsConfigInput> = {}) =>
  staleDealsConfigSchema.parse({ dryRun: false, ...overrides });
const deal = (fields: Record<string, unknown>) =>
  opportunitySchema.parse({
    id: '5516cd47-2bd0-4f4f-adc2-22524e54ba4d',
    name: 'Deal',
    status: 'open',
    updatedAt: '2026-11-28T00:00:00.000Z',
    ...fields,
  });
const NOW = new Date('2026-11-28T12:00:00.000Z');
const OPEN = DEFAULT_OPPORTUNITY_STATUSES.open;
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();

describe('inactivity (staleAfterDays = 30, elapsed time)', () => {
  it.each([
    ['updated 30 days ago to the millisecond', hoursAgo(30 * 24), true],
    [
      'updated 1 ms less than 30 days ago',
      new Date(NOW.getTime() - 30 * 86_400_000 + 1).toISOString(),
      false,
    ],
    ['updated 29 days 23 hours ago', hoursAgo(30 * 24 - 1), false],
    ['updated 45 days ago', hoursAgo(45 * 24), true],
    ['updated yesterday', hoursAgo(24), false],
  ])('%s → stale: %s', (_, updatedAt, stale) => {
    expect(evaluate(deal({ updatedAt }), config({ overdueGraceDays: null }), NOW, OPEN).stale).toBe(stale);
  });

  it('says why', () => {
    expect(evaluate(deal({ updatedAt: hoursAgo(45 * 24) }), config(), NOW, OPEN)).toEqual({
      stale: true,
      reasons: ['no activity for 45 days (threshold 30)'],
    });
  });

  it('can be switched off', () => {
    expect(
      evaluate(deal({ updatedAt: hoursAgo(400 * 24) }), config({ staleAfterDays: null }), NOW, OPEN).stale,
    ).toBe(false);
  });
});

describe('overdue close date (overdueGraceDays = 14, calendar days in the time zone)', () => {
  const recent = hoursAgo(1);
  it.each([
    // Madrid is UTC+1 in November: at 23:30 UTC on the 28th it is already the 29th there.
    [
      'closed 14 days ago, at noon UTC',
      '2026-11-14T00:00:00.000Z',
      '2026-11-28T12:00:00.000Z',
      'Europe/Madrid',
      false,
    ],
    [
      'closed 15 days ago, at noon UTC',
      '2026-11-13T00:00:00.000Z',
      '2026-11-28T12:00:00.000Z',
      'Europe/Madrid',
      true,
    ],
    [
      '14 days in UTC, 15 in Madrid (23:30 UTC)',
      '2026-11-14T00:00:00.000Z',
      '2026-11-28T23:30:00.000Z',
      'Europe/Madrid',
      true,
    ],
    [
      '14 days in UTC at 23:30 UTC, still 14 in UTC',
      '2026-11-14T00:00:00.000Z',
      '2026-11-28T23:30:00.000Z',
      'UTC',
      false,
    ],
    [
      '15 days in UTC, 14 in Los Angeles (03:00 UTC)',
      '2026-11-13T00:00:00.000Z',
      '2026-11-28T03:00:00.000Z',
      'America/Los_Angeles',
      false,
    ],
    ['15 days in UTC at 03:00 UTC', '2026-11-13T00:00:00.000Z', '2026-11-28T03:00:00.000Z', 'UTC', true],
    [
      'close date in the future',
      '2026-12-20T00:00:00.000Z',
      '2026-11-28T12:00:00.000Z',
      'Europe/Madrid',
      false,
    ],
  ])('%s → stale: %s', (_, closeDate, now, timeZone, stale) => {
    const verdict = evaluate(
      deal({ closeDate, updatedAt: recent }),
      config({ timeZone, staleAfterDays: null }),
      new Date(now),
      OPEN,
    );
    expect(verdict.stale).toBe(stale);
  });

  it('can be switched off', () => {
    expect(
      evaluate(
        deal({ closeDate: '2020-01-01T00:00:00.000Z', updatedAt: recent }),
        config({ overdueGraceDays: null }),
        NOW,
        OPEN,
      ).stale,
    ).toBe(false);
  });
});

describe('what is never closed', () => {
  const old = hoursAgo(90 * 24);
  it.each([
    ['a deal that is not open', { status: 'won' }, {}, 'not-open'],
    ['a deal with an unknown status', { status: 'Negotiation' }, {}, 'not-open'],
    ['an excluded priority', { priority: 'High' }, { excludePriorities: ['High'] }, 'excluded-priority'],
    [
      'a deal at or above the amount limit',
      { amount: 100_000 },
      { excludeAmountAtLeast: 100_000 },
      'excluded-amount',
    ],
    [
      'a name matching a pattern (any case)',
      { name: 'ACME Renewal 2027' },
      { excludeNamePatterns: ['renewal'] },
      'excluded-name',
    ],
  ] as const)('%s', (_, fields, overrides, reason) => {
    expect(
      evaluate(
        deal({ ...fields, updatedAt: old }),
        config(overrides as Partial<StaleDealsConfigInput>),
        NOW,
        OPEN,
      ),
    ).toEqual({ stale: false, reason });
  });

  it('an active deal is active, whatever the exclusions', () => {
    expect(
      evaluate(deal({ updatedAt: hoursAgo(2) }), config({ excludePriorities: ['Low'] }), NOW, OPEN),
    ).toEqual({
      stale: false,
      reason: 'active',
    });
  });
});

describe('configuration', () => {
  it('names a wrong setting', () => {
    const result = staleDealsConfigSchema.safeParse({
      dryRun: 'yes',
      timeZone: 'Mars/Olympus',
      excludeNamePatterns: ['('],
      staleAfterDays: 0,
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'dryRun',
      'excludeNamePatterns.0',
      'staleAfterDays',
      'timeZone',
    ]);
  });

  it('has documented defaults', () => {
    expect(config()).toMatchObject({
      staleAfterDays: 30,
      overdueGraceDays: 14,
      timeZone: 'Europe/Madrid',
      maxClosesPerRun: 50,
    });
  });
});
