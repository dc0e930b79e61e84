import { describe, expect, it } from 'vitest';
import { busiestSecond, overBudgetSeconds } from '#local/tools/bench/budget.ts';
import { pauseStats, soakLowerBound } from '#local/tools/soak.ts';

const request = (receivedAt: number, status: number, durationMs = 10) => ({ receivedAt, status, durationMs });

describe("the soak's lower bound", () => {
  it('counts every request at the budget pace, and the time under any Retry-After once', () => {
    const requests = [
      request(0, 200),
      // Two 429s whose 1 s windows overlap (10–1010 and 510–1510): 1.5 s forbidden, not 2.
      request(0, 429),
      request(500, 429),
      // A later one on its own: another second.
      request(5000, 429),
      request(6000, 503),
    ];
    const bound = soakLowerBound(requests, 2, 1000);
    expect(bound.budgetSeconds).toBe(2.5);
    expect(bound.retryAfterSeconds).toBe(2.5);
  });

  it('is the budget alone when nothing was rate limited', () => {
    expect(soakLowerBound([request(0, 200), request(1, 500)], 1, 1000)).toEqual({
      budgetSeconds: 2,
      retryAfterSeconds: 0,
    });
  });
});

describe('where the time goes around 429s', () => {
  it('merges the Retry-After windows, counts what arrived inside them, and times each restart', () => {
    const requests = [
      request(0, 429), // window 10–1010
      request(500, 200), // inside
      request(600, 429), // window 610–1610: merged with the first
      request(1800, 200), // outside: 190 ms after the merged window ended
      request(3000, 429), // window 3010–4010
      request(4310, 200), // 300 ms after it
    ];
    expect(pauseStats(requests, 1000)).toEqual({
      windows: 2,
      restartSeconds: 0.49,
      requestsInside: 2,
      requestsOutside: 4,
    });
  });
});

describe('the busiest second', () => {
  it('is the most arrivals in any one-second window, however the windows fall', () => {
    // 0.6–1.5 s holds four; no window starting on a whole second does.
    expect(busiestSecond([0, 600, 900, 1200, 1500, 2700])).toBe(4);
    expect(busiestSecond([0, 1000, 2000])).toBe(1);
    expect(busiestSecond([])).toBe(0);
  });
});

describe('the seconds above the budget', () => {
  it('counts each sliding second holding more than the limit, and those a loop stall overlapped', () => {
    // Three arrivals stamped together at 2,000 (a stall from 1,900 to 2,000) and two earlier.
    const arrivals = [1200, 1500, 2000, 2000, 2000, 4000, 4100, 4200];
    const stall = { end: 2000, ms: 100 };
    // Limit 3: the windows closed by the 2nd and 3rd arrival at 2,000 hold 4 and 5.
    expect(overBudgetSeconds(arrivals, 3, [stall])).toEqual({ seconds: 2, withStall: 2 });
    expect(overBudgetSeconds(arrivals, 3, [])).toEqual({ seconds: 2, withStall: 0 });
    // A stall elsewhere does not count.
    expect(overBudgetSeconds(arrivals, 3, [{ end: 3500, ms: 50 }])).toEqual({ seconds: 2, withStall: 0 });
    expect(overBudgetSeconds(arrivals, 5, [stall])).toEqual({ seconds: 0, withStall: 0 });
  });
});
