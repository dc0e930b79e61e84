import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import {
  DEFAULT_OPPORTUNITY_STATUSES,
  MAX_LIST_LIMIT,
  opportunityStatusesEnv,
} from '#shared/salescaling/assumptions.ts';

/**
 * Every assumption about undocumented Salescaling behaviour lives in shared/salescaling/assumptions.ts:
 * nothing else in the product spells one out, and flipping one there changes the client and the
 * emulator together.
 */
const MODULE = 'shared/salescaling/assumptions.ts';
const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(projectRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Where a status word may appear, and why: the outcome of our own commands (`won` | `lost`) is the
 * event catalog's vocabulary, not a Salescaling status, and the catalog's examples show statuses as
 * documentation.
 */
const allowedFiles: Record<string, string> = {
  'shared/events/catalog.ts': "the commands' outcome vocabulary and the events' examples",
  'shared/events/adapters.ts': 'a worked example producing a Close Opportunity (outcome won)',
  'shared/events/documentation.ts': 'a worked example producing a Close Opportunity (outcome won)',
};
const allowedLine = (line: string) => /\boutcome\b|keyof OpportunityStatuses/.test(line);

const literalAssumptions: Array<{ what: string; pattern: RegExp }> = [
  { what: 'a status name', pattern: /['"`](open|won|lost)['"`]/ },
  { what: 'the limit cap', pattern: /\blimit\b[^\n]*\b1_?000\b|\bpageSize\b[^\n]*max\(1_?000\)/i },
  { what: 'the default page size', pattern: /\blimit\s*\?\?\s*10\b/ },
];

describe('the assumptions module', () => {
  it('is the only product code that spells out an assumption', () => {
    const offenders: string[] = [];
    const files = ['shared', 'functions', 'infra', 'local'].flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const path = relative(projectRoot, join(projectRoot, file));
      if (path === MODULE || path in allowedFiles) continue;
      readFileSync(join(projectRoot, file), 'utf8')
        .split('\n')
        .forEach((line, index) => {
          // Comments may name what they explain.
          if (/^(\*|\/\*|\/\/)/.test(line.trim()) || allowedLine(line)) return;
          for (const { what, pattern } of literalAssumptions) {
            if (pattern.test(line)) offenders.push(`${path}:${index + 1}: ${what}: ${line.trim()}`);
          }
        });
    }
    expect(offenders).toEqual([]);
  });

  it('finds a literal that comes back (the scan can fail)', () => {
    const line = "      status: 'lost',";
    expect(literalAssumptions.some(({ pattern }) => pattern.test(line))).toBe(true);
    expect(literalAssumptions.some(({ pattern }) => pattern.test('limit: 1000 })'))).toBe(true);
  });
});

describe('OPPORTUNITY_STATUSES, as every function reads it', () => {
  const read = (value: string | undefined) =>
    z.object({ OPPORTUNITY_STATUSES: opportunityStatusesEnv }).safeParse({ OPPORTUNITY_STATUSES: value });

  it('defaults to the assumed statuses when unset, and fills what a stage leaves out', () => {
    expect(read(undefined).data?.OPPORTUNITY_STATUSES).toEqual(DEFAULT_OPPORTUNITY_STATUSES);
    expect(read('{"lost":"Closed lost"}').data?.OPPORTUNITY_STATUSES).toEqual({
      ...DEFAULT_OPPORTUNITY_STATUSES,
      lost: 'Closed lost',
    });
  });

  it.each([
    ['not JSON', 'must be JSON'],
    ['{"won":"closed","lost":"closed"}', 'three different statuses'],
    ['{"open":""}', 'open'],
    ['{"open":"open","stale":"x"}', 'stale'],
  ])('refuses %s, naming the problem', (value, named) => {
    const result = read(value);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(named);
  });
});

describe('OPPORTUNITY_STATUSES for `npm start`', () => {
  it('is read, merged with the defaults, and a wrong one is named', async () => {
    const { localConfigFromEnv } = await import('#local/runtime/config.ts');
    expect(
      localConfigFromEnv({ OPPORTUNITY_STATUSES: '{"lost":"Closed lost"}' }).OPPORTUNITY_STATUSES,
    ).toEqual({
      ...DEFAULT_OPPORTUNITY_STATUSES,
      lost: 'Closed lost',
    });
    expect(localConfigFromEnv({}).OPPORTUNITY_STATUSES).toBeUndefined();
    expect(() => localConfigFromEnv({ OPPORTUNITY_STATUSES: '{"won":"lost"}' })).toThrow(
      /OPPORTUNITY_STATUSES: open, won and lost must be three different statuses/,
    );
  });
});

describe('flipping an assumption changes the emulator and the client together', () => {
  afterEach(() => {
    vi.doUnmock('#shared/salescaling/assumptions.ts');
    vi.resetModules();
  });

  it('list limit cap, count, order, linking twice and PUT', async () => {
    vi.resetModules();
    vi.doMock('#shared/salescaling/assumptions.ts', async (original) => ({
      ...(await original<object>()),
      MAX_LIST_LIMIT: 5,
      COUNT_MEANS: 'total',
      LIST_ORDER: 'newest-first',
      PUT_REPLACES_ALL_WRITABLE_FIELDS: false,
      LINKS: { ...(await original<{ LINKS: object }>()).LINKS, linkingTwice: 'conflict' },
    }));
    const { handleApi, ApiError } = await import('#local/emulator/api.ts');
    const { EmulatorStore } = await import('#local/emulator/store.ts');
    const { SalescalingClient } = await import('#shared/salescaling/client.ts');
    const { SalescalingInvalidRequestError } = await import('#shared/salescaling/errors.ts');
    const store = new EmulatorStore();
    const ids = ['First', 'Second', 'Third'].map(
      (name) => store.createOpportunity({ name, amount: 1, nextStep: 'Demo' }).id,
    );
    const call = (operation: Parameters<typeof handleApi>[1], request: Record<string, unknown> = {}) =>
      handleApi(store, operation, { params: {}, query: new URLSearchParams(), body: undefined, ...request });

    // The cap: the emulator refuses a limit above it, and the client never sends one.
    expect(() => call('listOpportunities', { query: new URLSearchParams('limit=6') })).toThrow(ApiError);
    const page = call('listOpportunities', { query: new URLSearchParams('limit=2') });
    const client = new SalescalingClient({ baseUrl: 'http://127.0.0.1:9/api/v1/', apiKey: async () => 'k' });
    await expect(client.listOpportunities({ limit: 6 })).rejects.toBeInstanceOf(
      SalescalingInvalidRequestError,
    );
    // Count is the total; the order newest first.
    expect(page.count).toBe(3);
    expect((page.data as Array<{ name: string }>).map((o) => o.name)).toEqual(['Third', 'Second']);
    // PUT patches: what the body leaves out is kept.
    const put = call('updateOpportunity', { params: { id: ids[0] }, body: { name: 'Renamed' } });
    expect(put.data).toMatchObject({ name: 'Renamed', amount: 1, nextStep: 'Demo' });
    // Linking twice is a conflict.
    const contact = store.createContact({ email: 'a@b.example' });
    const link = () =>
      call('linkOpportunityContact', { params: { id: ids[0] }, body: { contactId: contact.id } });
    expect(link().status).toBe(200);
    expect(link).toThrow(expect.objectContaining({ status: 409 }));
    store.close();
  });

  it('as assumed (the control): the same calls under the module as it is', async () => {
    const { handleApi } = await import('#local/emulator/api.ts');
    const { EmulatorStore } = await import('#local/emulator/store.ts');
    const store = new EmulatorStore();
    for (const name of ['First', 'Second', 'Third']) store.createOpportunity({ name });
    const page = handleApi(store, 'listOpportunities', {
      params: {},
      query: new URLSearchParams('limit=2'),
      body: undefined,
    });
    expect(page.count).toBe(2);
    expect((page.data as Array<{ name: string }>).map((o) => o.name)).toEqual(['First', 'Second']);
    expect(MAX_LIST_LIMIT).toBe(1000);
    store.close();
  });
});
