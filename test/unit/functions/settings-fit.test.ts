import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { defineCatalog, type FunctionDeclarationInput } from '#functions/declaration.ts';
import {
  assertSettingsFit,
  queueVisibilityTimeoutSeconds,
  settingsFitProblems,
} from '#functions/settings-fit.ts';

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
    // 5 requests/s shared by 7 invocations (this catalog's 2 + the product's 5 others) is 0.71.
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
      'sync-things (queue things): batchSize 10 × 7 calls per record ÷ 0.71 requests/s = 98.6 s, over its 60 s timeout; lower batchSize or raise timeoutSeconds (functions/catalog.ts)',
    ]);
  });

  it('passes a batch that fits, and fails the same batch at a smaller budget', () => {
    const declarations = defineCatalog([worker({}, { batchSize: 5, callsPerRecord: 8 })]);
    // Share 5 ÷ 2 = 2.5/s: 5 × 8 ÷ 2.5 = 16 s.
    expect(settingsFitProblems(declarations, { maxRequestsPerSecond: 5 })).toEqual([]);
    // Share 1 ÷ 2 = 0.5/s: 80 s.
    expect(settingsFitProblems(declarations, { maxRequestsPerSecond: 1 })).toEqual([
      expect.stringContaining(
        'batchSize 5 × 8 calls per record ÷ 0.5 requests/s = 80.0 s, over its 60 s timeout',
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
      /Queue settings do not fit their functions:\n {2}lead-sync \(queue lead-received\): batchSize 5 × 8 calls per record ÷ 0\.28 requests\/s = 142\.9 s, over its 120 s timeout/,
    );
  });
});
