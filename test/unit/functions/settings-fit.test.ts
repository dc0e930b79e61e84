import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { defineCatalog, type FunctionDeclarationInput } from '#functions/declaration.ts';
import { requestsPerSecond } from '#functions/environment.ts';
import {
  assertSettingsFit,
  queueVisibilityTimeoutSeconds,
  settingsFitProblems,
  worstCaseShare,
} from '#functions/settings-fit.ts';
import { HEADROOM } from '#shared/salescaling/budget.ts';

/** Item 3 of issue 15: a queue's batch must fit its function's timeout at its share of the budget. */

const worker = (
  overrides: Partial<FunctionDeclarationInput> = {},
  trigger: object = {},
): FunctionDeclarationInput => ({
  name: 'sync-things',
  description: 'Syncs things',
  entry: 'functions/sync-things/handler.ts',
  memoryMb: 512,
  timeoutSeconds: 60,
  access: ['salescalingApiKey'],
  triggers: [
    {
      kind: 'event',
      name: 'things',
      pattern: { source: ['x'] },
      batchSize: 10,
      maxConcurrency: 2,
      callsPerRecord: 7,
      ...trigger,
    },
  ],
  ...overrides,
});

describe('settingsFitProblems', () => {
  it("names the function and shows the arithmetic when a batch cannot finish in its timeout (the issue's integration-commands)", () => {
    // 5 requests/s shared by 7 invocations (this catalog's 2 + the product's 5 others), the shared
    // bucket's slots spaced for 95% of it: 0.67 each (the fallback's static share would be 0.71).
    const declarations = defineCatalog([
      worker(),
      worker({
        name: 'five-more',
        triggers: [
          { kind: 'event', name: 'more', pattern: { source: ['y'] }, maxConcurrency: 5, callsPerRecord: 0 },
        ],
      }),
    ]);
    expect(settingsFitProblems(declarations, { maxRequestsPerSecond: 5 })).toEqual([
      'sync-things (queue things): batchSize 10 × 7 calls per record ÷ 0.67 requests/s = 104.5 s, over its 60 s timeout; lower batchSize or raise timeoutSeconds (functions/catalog.ts)',
    ]);
  });

  it("takes the least an invocation is sure of: the shared bucket's even share when all are busy, below the fallback's", () => {
    // The fallback (static share, SALESCALING_MAX_RPS) gives 5 ÷ 7 = 0.71; the shared bucket spaces
    // its slots for 95% of the budget, so seven busy invocations get 0.67 each.
    expect(HEADROOM).toBeLessThan(1);
    expect(requestsPerSecond(5, 7)).toBe(0.71);
    expect(worstCaseShare(5, 7)).toBe(0.67);
    expect(worstCaseShare(20, 1)).toBe(19);
  });

  it('passes a batch that fits, and fails the same batch at a smaller budget', () => {
    const declarations = defineCatalog([worker({}, { batchSize: 5, callsPerRecord: 8 })]);
    // Share 5 × 0.95 ÷ 2 = 2.37/s: 5 × 8 ÷ 2.37 = 16.9 s.
    expect(settingsFitProblems(declarations, { maxRequestsPerSecond: 5 })).toEqual([]);
    // Share 1 × 0.95 ÷ 2 = 0.47/s: 85.1 s.
    expect(settingsFitProblems(declarations, { maxRequestsPerSecond: 1 })).toEqual([
      expect.stringContaining(
        'batchSize 5 × 8 calls per record ÷ 0.47 requests/s = 85.1 s, over its 60 s timeout',
      ),
    ]);
  });

  it('fails a visibility timeout below 6× the function timeout, naming both', () => {
    const declarations = defineCatalog([worker({}, { batchSize: 1 })]);
    expect(
      settingsFitProblems(declarations, { maxRequestsPerSecond: 5, visibilityTimeoutSeconds: () => 300 }),
    ).toEqual(['sync-things (queue things): visibility timeout 300 s is below 6 × its 60 s timeout = 360 s']);
    expect(
      settingsFitProblems(declarations, { maxRequestsPerSecond: 5, visibilityTimeoutSeconds: () => 360 }),
    ).toEqual([]);
  });

  it('gives queues 6× the timeout (at least 30 s), which the check accepts', () => {
    expect(queueVisibilityTimeoutSeconds(120)).toBe(720);
    expect(queueVisibilityTimeoutSeconds(2)).toBe(30);
  });

  it('requires callsPerRecord of a queue whose function calls Salescaling, and not of one that does not', () => {
    const declarations = defineCatalog([
      worker({}, { callsPerRecord: undefined }),
      worker({ name: 'no-crm', access: [] }, { name: 'other', callsPerRecord: undefined }),
    ]);
    expect(settingsFitProblems(declarations, { maxRequestsPerSecond: 5 })).toEqual([
      'sync-things (queue things): calls Salescaling but declares no callsPerRecord',
    ]);
  });

  it('checks only the visibility timeout of a self-paced queue', () => {
    const declarations = defineCatalog([worker({}, { batchSize: 100, callsPerRecord: 'self-paced' })]);
    expect(settingsFitProblems(declarations, { maxRequestsPerSecond: 1 })).toEqual([]);
  });

  it("passes the product's catalog at the stages' budget (5 requests/s), and fails it at 2", () => {
    expect(settingsFitProblems(catalog, { maxRequestsPerSecond: 5 })).toEqual([]);
    expect(() => assertSettingsFit(catalog, { maxRequestsPerSecond: 2 })).toThrow(
      /Queue settings do not fit their functions:\n {2}lead-sync \(queue lead-received\): batchSize 5 × 8 calls per record ÷ 0\.27 requests\/s = 148\.1 s, over its 120 s timeout/,
    );
  });
});
