import { describe, expect, it } from 'vitest';
import { FORCED_REFRESH_INTERVAL_MS, rateLimitedRefresh } from '#functions/lead-ingest/secret-refresh.ts';

/** A secret store whose forced reads are counted and held until released, on a clock the test moves. */
function harness(initial = 'v1') {
  let stored = initial;
  let now = 1_000_000;
  const forced: Array<() => void> = [];
  let forcedReads = 0;
  const source = rateLimitedRefresh(
    async ({ forceRefresh }) => {
      if (!forceRefresh) return 'cached';
      forcedReads += 1;
      // Held open so concurrent callers meet a read in flight.
      await new Promise<void>((resolve) => forced.push(resolve));
      return stored;
    },
    { now: () => now },
  );
  return {
    source,
    forcedReads: () => forcedReads,
    releaseAll: () => {
      for (const release of forced.splice(0)) release();
    },
    rotate: (value: string) => {
      stored = value;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('re-reading the signing secrets after a mismatch', () => {
  it('100 concurrent mismatches for one provider share one forced read', async () => {
    const h = harness();
    const answers = Array.from({ length: 100 }, () => h.source.afterMismatch('typeform'));
    expect(h.forcedReads()).toBe(1);
    h.releaseAll();
    expect(new Set(await Promise.all(answers))).toEqual(new Set(['v1']));
  });

  it('100 sequential mismatches within the interval force one read; the rest get nothing fresher', async () => {
    const h = harness();
    const answers: Array<string | undefined> = [];
    for (let i = 0; i < 100; i++) {
      const answer = h.source.afterMismatch('typeform');
      h.releaseAll();
      answers.push(await answer);
      h.advance(FORCED_REFRESH_INTERVAL_MS / 200);
    }
    expect(h.forcedReads()).toBe(1);
    expect(answers[0]).toBe('v1');
    expect(answers.slice(1).every((a) => a === undefined)).toBe(true);
  });

  it('at most one forced read per provider per interval, over many intervals', async () => {
    const h = harness();
    const intervals = 5;
    for (let i = 0; i < intervals * 50; i++) {
      const answer = h.source.afterMismatch('tally');
      h.releaseAll();
      await answer;
      h.advance(FORCED_REFRESH_INTERVAL_MS / 50);
    }
    expect(h.forcedReads()).toBeLessThanOrEqual(intervals);
    expect(h.forcedReads()).toBeGreaterThanOrEqual(intervals - 1);
  });

  it("one provider's flood does not delay another's refresh", async () => {
    const h = harness();
    const typeform = h.source.afterMismatch('typeform');
    h.releaseAll();
    await typeform;
    expect(await h.source.afterMismatch('typeform')).toBeUndefined();
    const webflow = h.source.afterMismatch('webflow');
    h.releaseAll();
    expect(await webflow).toBe('v1');
    expect(h.forcedReads()).toBe(2);
  });

  it('a rotated secret is picked up once the interval has passed', async () => {
    const h = harness();
    const first = h.source.afterMismatch('standard-webhooks');
    h.releaseAll();
    expect(await first).toBe('v1');
    h.rotate('v2');
    h.advance(FORCED_REFRESH_INTERVAL_MS - 1);
    expect(await h.source.afterMismatch('standard-webhooks')).toBeUndefined();
    h.advance(1);
    const later = h.source.afterMismatch('standard-webhooks');
    h.releaseAll();
    expect(await later).toBe('v2');
  });

  it('a failed forced read is not shared forever: the next interval reads again', async () => {
    let now = 0;
    let reads = 0;
    const source = rateLimitedRefresh(
      async () => {
        reads += 1;
        throw new Error('Secrets Manager is down');
      },
      { now: () => now },
    );
    await expect(source.afterMismatch('tally')).rejects.toThrow('down');
    expect(await source.afterMismatch('tally')).toBeUndefined();
    now += FORCED_REFRESH_INTERVAL_MS;
    await expect(source.afterMismatch('tally')).rejects.toThrow('down');
    expect(reads).toBe(2);
  });

  it('the cached read is never forced', async () => {
    const h = harness();
    for (let i = 0; i < 10; i++) expect(await h.source.current()).toBe('cached');
    expect(h.forcedReads()).toBe(0);
  });
});
