import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emulatorOptionsFromEnv } from '#local/emulator/config.ts';
import { emulatorSemantics } from '#local/emulator/semantics.ts';
import { startEmulator } from '#local/emulator/server.ts';
import { MAX_LIST_LIMIT } from '#shared/salescaling/assumptions.ts';
import { TEST_API_KEY, useEmulator } from '#test/support/emulator.ts';

/** The emulator's own behaviour, seen through raw HTTP (no client in between). */
const ctx = useEmulator();

async function api(method: string, path: string, body?: unknown, key: string | null = TEST_API_KEY) {
  const headers: Record<string, string> = {};
  if (key !== null) headers['x-api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${ctx.emulator.apiBaseUrl}${path.replace(/^\//, '')}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary JSON answers field by field
  type Body = Record<string, unknown> & { data: any };
  return { status: response.status, body: (await response.json()) as Body };
}

describe('auth', () => {
  it.each([
    ['missing', null],
    ['wrong', 'nope'],
  ])('answers 401 with the documented message when the key is %s', async (_, key) => {
    const { status, body } = await api('GET', '/opportunities', undefined, key);
    expect(status).toBe(401);
    expect(body).toEqual({
      statusCode: 401,
      count: 0,
      error: 'Unauthorized - missing or invalid API key',
      data: null,
    });
  });
});

describe('opportunities', () => {
  it('creates with the envelope, every writable field, and timestamps', async () => {
    const { status, body } = await api('POST', '/opportunities', { name: 'Deal', amount: 10 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ statusCode: 200, count: 1, error: null });
    expect(body.data).toMatchObject({ name: 'Deal', amount: 10, status: null, closeDate: null });
    expect(body.data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.data.createdAt).toBe(body.data.updatedAt);
    expect(new Date(body.data.createdAt).toISOString()).toBe(body.data.createdAt);
  });

  it('answers 400 naming every offending field, and stores nothing', async () => {
    const { status, body } = await api('POST', '/opportunities', {
      amount: 'lots',
      closeProbability: 101,
      closeDate: 'next tuesday',
    });
    expect(status).toBe(400);
    for (const field of ['name', 'amount', 'closeProbability', 'closeDate'])
      expect(body.error).toContain(field);
    expect(ctx.emulator.store.stats().opportunities).toBe(0);
  });

  it('refuses a field the document does not have (the stricter reading: a misspelt field fails locally)', async () => {
    const { status, body } = await api('POST', '/opportunities', { name: 'Deal', closeProbabilty: 80 });
    expect(status).toBe(400);
    expect(body).toEqual({
      statusCode: 400,
      count: 0,
      error: 'Invalid body: closeProbabilty: is not a documented field',
      data: null,
    });
    expect(ctx.emulator.store.stats().opportunities).toBe(0);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const { status, body } = await api('POST', '/opportunities', '{not json');
    expect(status).toBe(400);
    expect(body.error).toMatch(/JSON/);
  });

  it('answers 404 for unknown and malformed ids', async () => {
    for (const id of [randomUUID(), 'not-an-id']) {
      expect((await api('GET', `/opportunities/${id}`)).status).toBe(404);
      expect((await api('PUT', `/opportunities/${id}`, { name: 'x' })).status).toBe(404);
      expect((await api('DELETE', `/opportunities/${id}`)).status).toBe(404);
      expect((await api('GET', `/opportunities/${id}/integrations`)).status).toBe(404);
    }
  });

  it('PUT replaces every writable field and moves updatedAt forward', async () => {
    const created = (await api('POST', '/opportunities', { name: 'Deal', amount: 10, nextStep: 'Demo' })).body
      .data;
    const { status, body } = await api('PUT', `/opportunities/${created.id}`, { name: 'Renamed' });
    expect(status).toBe(200);
    expect(emulatorSemantics.putReplacesAllWritableFields).toBe(true);
    expect(body.data).toMatchObject({
      name: 'Renamed',
      amount: null,
      nextStep: null,
      createdAt: created.createdAt,
    });
    expect(Date.parse(body.data.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt));
  });

  it('pages with the documented defaults (page 1, limit 10) and rejects bad paging', async () => {
    for (let i = 0; i < 12; i++) ctx.emulator.store.createOpportunity({ name: `Deal ${i}` });
    const first = await api('GET', '/opportunities');
    expect(first.body.data).toHaveLength(10);
    expect(first.body.count).toBe(10);
    const second = await api('GET', '/opportunities?page=2');
    expect(second.body.data.map((o: { name: string }) => o.name)).toEqual(['Deal 10', 'Deal 11']);
    const bad = await api('GET', '/opportunities?page=0&limit=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('page');
    expect(bad.body.error).toContain('limit');
  });

  it('deleting an opportunity removes its links', async () => {
    const opportunity = ctx.emulator.store.createOpportunity({ name: 'Linked' });
    const contact = ctx.emulator.store.createContact({ email: 'a@b.co' });
    const company = ctx.emulator.store.createCompany({ name: 'B Co' });
    expect(
      (await api('POST', `/opportunities/${opportunity.id}/contacts`, { contactId: contact.id })).status,
    ).toBe(200);
    expect(
      (await api('POST', `/opportunities/${opportunity.id}/companies`, { companyId: company.id })).status,
    ).toBe(200);
    expect(ctx.emulator.store.stats()).toMatchObject({ contactLinks: 1, companyLinks: 1 });
    const deleted = await api('DELETE', `/opportunities/${opportunity.id}`);
    expect(deleted.body).toMatchObject({ statusCode: 200, data: true });
    expect(ctx.emulator.store.stats()).toMatchObject({ opportunities: 0, contactLinks: 0, companyLinks: 0 });
    expect((await api('GET', `/contacts?opportunityId=${opportunity.id}`)).body.data).toEqual([]);
  });
});

describe('the contract (docs/salescaling-openapi.yaml)', () => {
  it('answers a malformed id as an unknown one (ERROR_STATUSES.malformedId), naming the parameter', async () => {
    const { status, body } = await api('DELETE', `/opportunities/${randomUUID()}/contacts/not-a-uuid`);
    expect(status).toBe(emulatorSemantics.malformedIdStatus);
    expect(body.error).toContain('contactId');
  });

  it('answers 400 to a query parameter of the wrong type, and ignores parameters it does not know', async () => {
    const bad = await api('GET', `/contacts?opportunityId=nope&companyId=${randomUUID()}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe(
      'Invalid query: opportunityId: must match pattern "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"; opportunityId: must match format "uuid"',
    );
    expect((await api('GET', '/contacts?utm_source=x')).status).toBe(200);
  });

  it('answers 400 to a missing body, and to a link body with more than the id', async () => {
    const opportunity = ctx.emulator.store.createOpportunity({ name: 'Deal' });
    const missing = await api('POST', '/opportunities');
    expect(missing.status).toBe(400);
    expect(missing.body.error).toContain('a JSON body is required');
    const extra = await api('POST', `/opportunities/${opportunity.id}/contacts`, {
      contactId: randomUUID(),
      primary: true,
    });
    expect(extra.status).toBe(400);
    expect(extra.body.error).toContain('primary');
  });

  it('fails loudly (500 and a log line) when its own answer breaks the document: an emulator bug', async () => {
    // Written past the API (the store takes anything): a probability the document does not allow.
    const broken = ctx.emulator.store.createOpportunity({ name: 'Broken', closeProbability: 150 });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(' '));
    try {
      const { status, body } = await api('GET', `/opportunities/${broken.id}`);
      expect(status).toBe(500);
      expect(body.error).toBe(
        'Emulator bug: its 200 answer to getOpportunity breaks docs/salescaling-openapi.yaml (data.closeProbability: must be <= 100)',
      );
    } finally {
      console.error = original;
    }
    expect(errors).toEqual([expect.stringContaining('Emulator bug: its 200 answer to getOpportunity')]);
  });

  it('does not check injected faults, which are misbehaviour on request', async () => {
    await ctx.admin.scriptFaults([{ fault: 'error', status: 418, operation: 'listOpportunities' }]);
    expect((await api('GET', '/opportunities')).status).toBe(418);
  });
});

describe('links', () => {
  it('linking twice succeeds without a second link; unlinking a missing link is 404', async () => {
    const opportunity = ctx.emulator.store.createOpportunity({ name: 'Deal' });
    const contact = ctx.emulator.store.createContact({ firstName: 'Ann' });
    for (let i = 0; i < 2; i++) {
      const linked = await api('POST', `/opportunities/${opportunity.id}/contacts`, {
        contactId: contact.id,
      });
      expect(linked.body).toMatchObject({ statusCode: 200, data: true });
    }
    expect((await api('GET', `/opportunities/${opportunity.id}/contacts`)).body.data).toHaveLength(1);
    expect((await api('DELETE', `/opportunities/${opportunity.id}/contacts/${contact.id}`)).status).toBe(200);
    expect((await api('DELETE', `/opportunities/${opportunity.id}/contacts/${contact.id}`)).status).toBe(404);
  });

  it('refuses links to unknown records and bodies without an id', async () => {
    const opportunity = ctx.emulator.store.createOpportunity({ name: 'Deal' });
    expect(
      (await api('POST', `/opportunities/${opportunity.id}/contacts`, { contactId: randomUUID() })).status,
    ).toBe(404);
    const bad = await api('POST', `/opportunities/${opportunity.id}/companies`, {});
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('companyId');
  });

  it('marks the first linked company as primary and filters opportunities by contact', async () => {
    const opportunity = ctx.emulator.store.createOpportunity({ name: 'Deal' });
    const other = ctx.emulator.store.createOpportunity({ name: 'Other' });
    const [a, b] = [
      ctx.emulator.store.createCompany({ name: 'A' }),
      ctx.emulator.store.createCompany({ name: 'B' }),
    ];
    ctx.emulator.store.linkCompany(opportunity.id, a.id);
    ctx.emulator.store.linkCompany(opportunity.id, b.id);
    const companies = (await api('GET', `/opportunities/${opportunity.id}/companies`)).body.data;
    expect(
      companies.map((c: { companyName: string; isPrimary: boolean }) => [c.companyName, c.isPrimary]),
    ).toEqual([
      ['A', true],
      ['B', false],
    ]);
    const contact = ctx.emulator.store.createContact({ email: 'x@y.co' });
    ctx.emulator.store.linkContact(other.id, contact.id);
    const filtered = (await api('GET', `/opportunities?contactId=${contact.id}`)).body.data;
    expect(filtered.map((o: { id: string }) => o.id)).toEqual([other.id]);
  });
});

describe('contacts and companies', () => {
  it('filters contacts by email, name ("first last" too), and company', async () => {
    const company = ctx.emulator.store.createCompany({ name: 'Acme' });
    ctx.emulator.store.createContact(
      { firstName: 'Grace', lastName: 'Hopper', email: 'grace@acme.com' },
      { companyId: company.id },
    );
    ctx.emulator.store.createContact({ firstName: 'Alan', lastName: 'Turing', email: 'alan@bletchley.uk' });
    const names = async (query: string) =>
      (await api('GET', `/contacts?${query}`)).body.data.map((c: { firstName: string }) => c.firstName);
    expect(await names('email=ACME')).toEqual(['Grace']);
    expect(await names('name=ce%20hop')).toEqual(['Grace']);
    expect(await names('name=turing')).toEqual(['Alan']);
    expect(await names(`companyId=${company.id}`)).toEqual(['Grace']);
  });

  it('creates companies and contacts, validating them', async () => {
    const company = await api('POST', '/companies', { name: 'Acme', domain: 'ACME.com' });
    expect(company.body.data).toMatchObject({ name: 'Acme', domain: 'acme.com' });
    const badCompany = await api('POST', '/companies', { domain: 'not a domain' });
    expect(badCompany.status).toBe(400);
    expect(badCompany.body.error).toContain('name');
    expect(badCompany.body.error).toContain('domain');
    const badContact = await api('POST', '/contacts', { email: 'nope', linkedinUrl: 'also nope' });
    expect(badContact.status).toBe(400);
    expect(badContact.body.error).toContain('email');
    expect(badContact.body.error).toContain('linkedinUrl');
    expect((await api('GET', '/companies?name=cme')).body.data).toHaveLength(1);
  });
});

describe('admin', () => {
  it('seeds generated data with stale and linked opportunities, repeatably', async () => {
    const summary = await ctx.admin.seed({ opportunities: 40, seed: 3, staleShare: 0.5 });
    expect(summary.opportunities).toBe(40);
    expect(summary.stale).toBeGreaterThan(5);
    expect(summary.linked).toBeGreaterThan(5);
    const stale = ctx.emulator.store.getOpportunity(summary.staleOpportunityIds[0] ?? '');
    expect(stale?.status).toBe('open');
    expect(Date.now() - Date.parse(String(stale?.updatedAt))).toBeGreaterThan(30 * 86_400_000);
    const names = ctx.emulator.store.listOpportunities({}, { page: 1, limit: 3 }).map((o) => o.name);
    await ctx.admin.reset();
    await ctx.admin.seed({ opportunities: 40, seed: 3, staleShare: 0.5 });
    expect(ctx.emulator.store.listOpportunities({}, { page: 1, limit: 3 }).map((o) => o.name)).toEqual(names);
  });

  it('logs requests by operation with a key fingerprint, never the key', async () => {
    await api('GET', '/opportunities');
    await api('GET', '/contacts');
    const requests = await ctx.admin.requests();
    expect(requests.map((r) => r.operation)).toEqual(['listOpportunities', 'listContacts']);
    expect(JSON.stringify(requests)).not.toContain(TEST_API_KEY);
    expect(requests[0]?.keyId).toMatch(/^[0-9a-f]{12}$/);
    expect((await ctx.admin.stats()).requests.byOperation).toMatchObject({
      listOpportunities: 1,
      listContacts: 1,
    });
  });

  it('rejects invalid fault settings with the field named', async () => {
    await expect(ctx.admin.setFaults({ errorRate: 2 } as never)).rejects.toThrow(/errorRate/);
    await expect(ctx.admin.scriptFaults([{ fault: 'explode' } as never])).rejects.toThrow(/fault/);
  });

  it('limits requests per second per key with 429 and Retry-After', async () => {
    await ctx.admin.setFaults({ requestsPerSecondPerKey: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api('GET', '/opportunities')).status);
    expect(statuses).toEqual([200, 200, 429]);
    const response = await fetch(`${ctx.emulator.apiBaseUrl}opportunities`, {
      headers: { 'x-api-key': TEST_API_KEY },
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('persistence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps state across a restart when given a file', async () => {
    const dbFile = join(dir, 'state.sqlite');
    const first = await startEmulator({ dbFile });
    const created = first.store.createOpportunity({ name: 'Survivor' });
    const contact = first.store.createContact({ email: 's@x.co' });
    first.store.linkContact(created.id, contact.id);
    await first.close();

    const second = await startEmulator({ dbFile, seed: { opportunities: 5 } });
    expect(second.store.getOpportunity(created.id)?.name).toBe('Survivor');
    expect(second.store.stats()).toMatchObject({ opportunities: 1, contactLinks: 1 });
    await second.close();
  });

  it('is in memory by default', async () => {
    const first = await startEmulator();
    first.store.createOpportunity({ name: 'Gone' });
    await first.close();
    const second = await startEmulator();
    expect(second.store.stats().opportunities).toBe(0);
    await second.close();
  });
});

describe('configuration from the environment', () => {
  it('uses the documented defaults', () => {
    expect(emulatorOptionsFromEnv({})).toMatchObject({
      port: 4010,
      host: '127.0.0.1',
      apiKeys: ['local-dev-key'],
    });
  });

  it('names the variable that is wrong', () => {
    expect(() => emulatorOptionsFromEnv({ EMULATOR_PORT: 'eighty' })).toThrow(/EMULATOR_PORT/);
    expect(() => emulatorOptionsFromEnv({ EMULATOR_FAULTS: '{"errorRate":5}' })).toThrow(/EMULATOR_FAULTS/);
  });

  it('accepts several keys at once, as during a rotation', () => {
    expect(emulatorOptionsFromEnv({ EMULATOR_API_KEY: 'old, new' }).apiKeys).toEqual(['old', 'new']);
  });
});

describe('failing closed', () => {
  it.each([
    ['page=9007199254740991&limit=9007199254740991', ['page', 'limit']],
    ['page=1e400', ['page']],
    [`limit=${emulatorSemantics.maxLimit + 1}`, ['limit']],
    ['page=1000001', ['page']],
    ['limit=1.5', ['limit']],
    ['page=-1', ['page']],
  ])('answers 400 naming the parameter for out-of-range paging (%s), on every list', async (query, named) => {
    for (const path of ['/opportunities', '/contacts', '/companies']) {
      const { status, body } = await api('GET', `${path}?${query}`);
      expect(status, path).toBe(400);
      for (const name of named) expect(body.error, path).toContain(name);
    }
  });

  it('pages at the largest allowed values without error (the limit cap of the assumptions)', async () => {
    expect(emulatorSemantics.maxLimit).toBe(MAX_LIST_LIMIT);
    const { status, body } = await api(
      'GET',
      `/opportunities?page=${emulatorSemantics.maxPage}&limit=${emulatorSemantics.maxLimit}`,
    );
    expect(status).toBe(200);
    expect(body.data).toEqual([]);
  });

  it('answers 400 to a malformed path parameter, and to a bad admin `since`', async () => {
    const { status } = await api('GET', '/opportunities/%');
    expect(status).toBe(400);
    for (const since of ['abc', '-1', '1e400']) {
      const response = await fetch(`${ctx.emulator.url}/_emulator/requests?since=${since}`);
      expect(response.status, since).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain('since');
    }
  });

  it('answers only requests addressed to loopback (no DNS rebinding to its data or admin routes)', async () => {
    const ask = async (host: string, path: string) => {
      const socket = connect(ctx.emulator.port, '127.0.0.1');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nx-api-key: ${TEST_API_KEY}\r\nConnection: close\r\n\r\n`,
      );
      let text = '';
      socket.setEncoding('utf8');
      for await (const chunk of socket) text += chunk;
      return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
    };
    expect(await ask(`evil.example:${ctx.emulator.port}`, '/api/v1/opportunities')).toBe(403);
    expect(await ask('evil.example', '/_emulator/stats')).toBe(403);
    expect(await ask(`localhost:${ctx.emulator.port}`, '/api/v1/opportunities')).toBe(200);
    expect(await ask(`127.0.0.1:${ctx.emulator.port}`, '/_emulator/stats')).toBe(200);
  });

  it('bound to every interface, is reached at loopback (where its Host check lets its clients in)', async () => {
    const wildcard = await startEmulator({ host: '0.0.0.0', apiKeys: [TEST_API_KEY] });
    try {
      expect(wildcard.url).toBe(`http://127.0.0.1:${wildcard.port}`);
      const response = await fetch(`${wildcard.apiBaseUrl}opportunities?limit=1`, {
        headers: { 'x-api-key': TEST_API_KEY },
      });
      expect(response.status).toBe(200);
    } finally {
      await wildcard.close();
    }
  });

  it("refuses a browser page's cross-site request (a text/plain POST that would reset or script faults)", async () => {
    const before = (await api('GET', '/opportunities?limit=1')).body;
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
    ]) {
      const response = await fetch(`${ctx.emulator.url}/_emulator/reset`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', ...headers },
        body: '{}',
      });
      expect(response.status, JSON.stringify(headers)).toBe(403);
    }
    expect((await api('GET', '/opportunities?limit=1')).body).toEqual(before);
    // Its own origin (or none, as curl and the functions send) is fine.
    const own = await fetch(`${ctx.emulator.url}/_emulator/stats`, { headers: { origin: ctx.emulator.url } });
    expect(own.status).toBe(200);
  });
});
