import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paginate } from '#shared/salescaling/pagination.ts';
import { fullJitterDelay, parseRetryAfter } from '#shared/salescaling/transport.ts';

describe('Retry-After', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');
  it.each([
    ['3', 3000],
    ['0', 0],
    ['1.5', 1500],
    ['Sat, 28 Nov 2026 12:00:10 GMT', 10_000],
    ['Sat, 28 Nov 2026 11:00:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('%s → %s ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('full jitter backoff', () => {
  it('stays within [0, min(max, base·2^(n-1)))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (attempt, base, max, random) => {
          const delay = fullJitterDelay(attempt, base, max, () => random);
          const ceiling = Math.min(max, base * 2 ** (attempt - 1));
          return delay >= 0 && delay < ceiling + 1 && delay <= ceiling;
        },
      ),
    );
  });

  it('uses the whole range, not just the ceiling', () => {
    expect(fullJitterDelay(4, 100, 10_000, () => 0)).toBe(0);
    expect(fullJitterDelay(4, 100, 10_000, () => 0.5)).toBe(400);
  });
});

describe('paginate', () => {
  it('stops on the first short page', async () => {
    const asked: number[] = [];
    const items: number[] = [];
    for await (const item of paginate(
      async (page, limit) => {
        asked.push(page);
        return page < 3 ? Array.from({ length: limit }, (_, i) => page * 10 + i) : [99];
      },
      { pageSize: 2 },
    )) {
      items.push(item);
    }
    expect(asked).toEqual([1, 2, 3]);
    expect(items).toEqual([10, 11, 20, 21, 99]);
  });

  it('asks once more after a full last page, and stops on the empty one', async () => {
    const asked: number[] = [];
    const all = [];
    for await (const item of paginate(
      async (page) => {
        asked.push(page);
        return page === 1 ? ['a', 'b'] : [];
      },
      { pageSize: 2 },
    )) {
      all.push(item);
    }
    expect(all).toEqual(['a', 'b']);
    expect(asked).toEqual([1, 2]);
  });

  it('refuses to loop forever when the API ignores the limit', async () => {
    const run = async () => {
      for await (const _ of paginate(async () => [1, 2, 3], { pageSize: 3, maxPages: 5 })) {
        // drain
      }
    };
    await expect(run()).rejects.toThrow(/5 pages/);
  });
});
