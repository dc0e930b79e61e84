import { describe, expect, it } from 'vitest';
import { FaultInjector } from '#local/emulator/faults.ts';

describe('scripted faults', () => {
  it('are consumed in order by the matching operation only', () => {
    const faults = new FaultInjector();
    faults.enqueue([
      { fault: 'error', status: 500, operation: 'createOpportunity', times: 2 },
      { fault: 'drop', when: 'after' },
    ]);
    expect(faults.decide('listOpportunities')).toEqual({ kind: 'drop', when: 'after' });
    expect(faults.decide('createOpportunity')).toEqual({ kind: 'error', status: 500, when: 'before' });
    expect(faults.decide('createOpportunity')).toEqual({ kind: 'error', status: 500, when: 'before' });
    expect(faults.decide('createOpportunity')).toEqual({ kind: 'none' });
  });
});

describe('standing rates', () => {
  it('are repeatable with a seed and close to the asked share', () => {
    const draw = () => {
      const faults = new FaultInjector({ errorRate: 0.2, hangRate: 0.1, seed: 9 });
      return Array.from({ length: 2000 }, () => faults.decide('getOpportunity').kind);
    };
    const first = draw();
    expect(draw()).toEqual(first);
    const errors = first.filter((kind) => kind === 'error').length / first.length;
    const hangs = first.filter((kind) => kind === 'hang').length / first.length;
    expect(errors).toBeGreaterThan(0.17);
    expect(errors).toBeLessThan(0.23);
    expect(hangs).toBeGreaterThan(0.08);
    expect(hangs).toBeLessThan(0.12);
  });

  it('apply only to the named operations when some are named', () => {
    const faults = new FaultInjector({ errorRate: 1, operations: ['createOpportunity'] });
    expect(faults.decide('listOpportunities').kind).toBe('none');
    expect(faults.decide('createOpportunity').kind).toBe('error');
  });
});

describe('per-key rate limit', () => {
  it('admits N per sliding second for each key separately', () => {
    const faults = new FaultInjector({ requestsPerSecondPerKey: 2 });
    expect(faults.admit('a', 0).admitted).toBe(true);
    expect(faults.admit('a', 100).admitted).toBe(true);
    expect(faults.admit('b', 150).admitted).toBe(true);
    expect(faults.admit('a', 200)).toEqual({ admitted: false, retryAfterSeconds: 1 });
    expect(faults.admit('a', 1001).admitted).toBe(true);
  });
});
