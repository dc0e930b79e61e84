import { describe, expect, it } from 'vitest';
import {
  backoffSeconds,
  ceilingDelaySeconds,
  DEFAULT_RETRY_SCHEDULE,
  isTransient,
  receivesToRideOut,
} from '#shared/queues/retry.ts';
import {
  SalescalingInvalidRequestError,
  SalescalingNetworkError,
  SalescalingRateLimitedError,
  SalescalingServerError,
  SalescalingTimeoutError,
  SalescalingUnauthorizedError,
} from '#shared/salescaling/errors.ts';

const schedule = DEFAULT_RETRY_SCHEDULE;
const options = { operation: 'createOpportunity' as const };

describe('the outage backoff', () => {
  it('doubles from the base to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => ceilingDelaySeconds(n, schedule))).toEqual([
      60, 120, 240, 480, 960, 1800, 1800, 1800,
    ]);
  });

  it('jitters between half the ceiling and the ceiling, in whole seconds', () => {
    expect(backoffSeconds(3, schedule, () => 0)).toBe(120);
    expect(backoffSeconds(3, schedule, () => 0.999_999)).toBe(240);
    expect(backoffSeconds(1, { windowSeconds: 10, baseSeconds: 1, capSeconds: 1 }, () => 0)).toBe(1);
  });

  it('never asks SQS for more than 12 hours', () => {
    expect(ceilingDelaySeconds(40, { windowSeconds: 1e6, baseSeconds: 3600, capSeconds: 1e6 })).toBe(43_200);
  });

  it('derives enough receives to cover the window at the shortest gaps, plus 2', () => {
    // The shortest gaps: 30, 60, 120, 240, 480 (930 s), then the 720 s visibility timeout (below
    // the cap's 900 s floor): 29 more to reach 21,600 s. 34 gaps are 35 receives; plus 2 of margin.
    expect(receivesToRideOut(schedule, 720)).toBe(37);
    // A long visibility timeout leaves the backoff's floor as the shortest gap: 930 + 900 × 23.
    expect(receivesToRideOut(schedule, 5400)).toBe(5 + 23 + 1 + 2);
  });

  it('classifies Salescaling 5xx, 429, timeouts and network errors as transient, 4xx and 401 not', () => {
    expect(isTransient(new SalescalingServerError('503', { ...options, status: 503 }))).toBe(true);
    expect(isTransient(new SalescalingRateLimitedError('429', { ...options, status: 429 }))).toBe(true);
    expect(isTransient(new SalescalingTimeoutError('timeout', options))).toBe(true);
    expect(isTransient(new SalescalingNetworkError('reset', options))).toBe(true);
    expect(isTransient(new SalescalingInvalidRequestError('400', { ...options, status: 400 }))).toBe(false);
    expect(isTransient(new SalescalingUnauthorizedError('401', { ...options, status: 401 }))).toBe(false);
    expect(isTransient(new Error('anything else'))).toBe(false);
  });
});
