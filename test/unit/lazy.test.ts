import { describe, expect, it } from 'vitest';
import { lazy } from '#shared/lazy.ts';

describe('lazy', () => {
  it('builds nothing until first asked, then once, and keeps what it built (undefined included)', () => {
    let builds = 0;
    const value = lazy(() => {
      builds += 1;
      return builds > 1 ? 'again' : undefined;
    });
    expect(builds).toBe(0);
    expect(value()).toBeUndefined();
    expect(value()).toBeUndefined();
    expect(builds).toBe(1);
  });

  it('builds again after a build that threw, so a failure is not kept', () => {
    let builds = 0;
    const value = lazy(() => {
      builds += 1;
      if (builds === 1) throw new Error('not yet');
      return { built: builds };
    });
    expect(() => value()).toThrow('not yet');
    expect(value()).toEqual({ built: 2 });
    expect(value()).toBe(value());
  });
});
