import { describe, expect, it } from 'vitest';
import { rateToMs, toCronerPattern } from '#local/runtime/scheduler.ts';

describe('AWS cron to the local scheduler', () => {
  it.each([
    ['0 6 * * ? *', '0 0 6 * * ?'],
    ['15 7 ? * MON-FRI *', '0 15 7 ? * MON-FRI'],
    // AWS numbers Sunday 1; croner numbers it 0.
    ['0 9 ? * 2-6 *', '0 0 9 ? * 1-5'],
    ['0 9 ? * 1,7 *', '0 0 9 ? * 0,6'],
    ['0 9 ? * 6#3 *', '0 0 9 ? * 5#3'],
  ])('cron(%s) → %s', (aws, croner) => {
    expect(toCronerPattern(aws)).toBe(croner);
  });

  it('refuses a year it cannot honour', () => {
    expect(() => toCronerPattern('0 6 * * ? 2030')).toThrow(/year/);
  });

  it('reads rates', () => {
    expect(rateToMs('5 minutes')).toBe(300_000);
    expect(rateToMs('1 hour')).toBe(3_600_000);
    expect(rateToMs('2 days')).toBe(172_800_000);
  });
});
