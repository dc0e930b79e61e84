import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COUNT_MEANS, LINKS, LIST_ORDER, opportunityStatusesEnv } from '#shared/salescaling/assumptions.ts';
import { SalescalingClient } from '#shared/salescaling/client.ts';
import {
  SalescalingInvalidRequestError,
  SalescalingNotFoundError,
  SalescalingUnauthorizedError,
} from '#shared/salescaling/errors.ts';
import type { Opportunity } from '#shared/salescaling/schemas.ts';
import { contractRecorder } from '#test/support/contract-recorder.ts';
import { type ContractTarget, contractTarget, limiterFor } from '#test/support/salescaling-target.ts';

/**
 * The Salescaling contract suite: every client operation over real HTTP. By default against the
 * emulator; point it at a live account with SALESCALING_BASE_URL (or `default`) and
 * SALESCALING_API_KEY to check the emulator's behaviour against Salescaling. Live runs only read,
 * unless SALESCALING_CONTRACT_WRITES=true (then the suite creates, changes and deletes records
 * whose names start with "contract-test-"; contacts and companies cannot be deleted through the API
 * and stay behind).
 *
 * Every answer either target gives, success or error, is also checked against
 * docs/salescaling-openapi.yaml with the validators the emulator uses (test/support/contract-recorder.ts):
 * a test fails naming the operation, the status and what in the answer the document does not allow.
 */
let target: ContractTarget;
let client: SalescalingClient;
let sample: Opportunity;
let recorder: ReturnType<typeof contractRecorder>;

beforeAll(async () => {
  target = await contractTarget();
  recorder = contractRecorder(target.baseUrl);
  client = new SalescalingClient({
    baseUrl: target.baseUrl,
    apiKey: async () => target.apiKey,
    limiter: limiterFor(target),
    fetch: recorder.fetch,
  });
  const first = await client.listOpportunities({ page: 1, limit: 5 });
  if (!first.items[0]) throw new Error(`The ${target.kind} target has no opportunities to read`);
  sample = first.items[0];
});

afterEach(() => {
  // Undefined only when beforeAll failed, which fails every test already.
  expect(
    recorder?.violationsSinceLastCheck() ?? [],
    'answers that break docs/salescaling-openapi.yaml',
  ).toEqual([]);
});

afterAll(async () => {
  await target?.close();
});

describe('the answers, against docs/salescaling-openapi.yaml', () => {
  it('are recorded and checked, errors too', async () => {
    const before = recorder.answers.length;
    await expect(client.getOpportunity(randomUUID())).rejects.toBeInstanceOf(SalescalingNotFoundError);
    await client.listOpportunities({ limit: 1 });
    expect(recorder.answers.slice(before).map((answer) => [answer.operation, answer.status])).toEqual([
      ['getOpportunity', 404],
      ['listOpportunities', 200],
    ]);
  });

  it.runIf(process.env.SALESCALING_BASE_URL === undefined)(
    'flags an answer the document does not allow (the emulator made to give one)',
    async () => {
      await target.admin?.scriptFaults([{ fault: 'error', status: 418, operation: 'getOpportunity' }]);
      await expect(client.getOpportunity(sample.id)).rejects.toMatchObject({ status: 418 });
      expect(recorder.violationsSinceLastCheck()).toEqual([
        {
          operation: 'getOpportunity',
          method: 'GET',
          status: 418,
          issues: [{ field: '(status)', message: '418 is not an answer the document gives' }],
        },
      ]);
    },
  );
});

describe('read operations', () => {
  it('counts as assumed (COUNT_MEANS): the items of this page', async () => {
    const page = await client.listOpportunities({ page: 1, limit: 2 });
    if (typeof page.count !== 'number') return; // nothing to compare: nothing relies on it
    expect(COUNT_MEANS).toBe('items-in-this-page');
    expect(page.count).toBe(page.items.length);
  });

  it('lists opportunities a page at a time, within the limit', async () => {
    const page = await client.listOpportunities({ page: 1, limit: 3 });
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.length).toBeLessThanOrEqual(3);
    for (const item of page.items) expect(item.id).toMatch(/^[0-9a-f-]{36}$/i);
    expect(typeof page.count === 'number' || page.count === null || page.count === undefined).toBe(true);
  });

  it('pages do not overlap', async () => {
    const [one, two] = await Promise.all([
      client.listOpportunities({ page: 1, limit: 4 }),
      client.listOpportunities({ page: 2, limit: 4 }),
    ]);
    const ids = new Set(one.items.map((o) => o.id));
    for (const item of two.items) expect(ids.has(item.id)).toBe(false);
  });

  it('iterates across pages without duplicates', async () => {
    const seen: string[] = [];
    for await (const opportunity of client.iterateOpportunities({}, { pageSize: 4 })) {
      seen.push(opportunity.id);
      if (seen.length >= 14) break;
    }
    expect(seen.length).toBeGreaterThan(4);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('gets an opportunity by id', async () => {
    const opportunity = await client.getOpportunity(sample.id);
    expect(opportunity.id).toBe(sample.id);
    expect(opportunity.name).toBe(sample.name);
  });

  it('filters opportunities by name, partial and case-insensitive', async () => {
    const name = sample.name ?? '';
    const fragment = name.slice(1, Math.min(name.length, 8)).toUpperCase();
    const found = await client.listOpportunities({ name: fragment, limit: 100 });
    expect(found.items.some((o) => o.id === sample.id)).toBe(true);
    for (const item of found.items) expect(item.name?.toLowerCase()).toContain(fragment.toLowerCase());
  });

  it('reads the integrations, contacts and companies of an opportunity', async () => {
    const integrations = await client.listOpportunityIntegrations(sample.id);
    expect(Array.isArray(integrations.integrations)).toBe(true);
    const contacts = await client.listOpportunityContacts(sample.id, { limit: 10 });
    for (const contact of contacts.items) expect(contact.contactId).toMatch(/^[0-9a-f-]{36}$/i);
    const companies = await client.listOpportunityCompanies(sample.id, { limit: 10 });
    for (const company of companies.items) expect(company.companyId).toMatch(/^[0-9a-f-]{36}$/i);
  });

  it('lists contacts and finds one by exact email', async () => {
    const page = await client.listContacts({ limit: 10 });
    const withEmail = page.items.find((contact) => contact.email);
    expect(withEmail).toBeTruthy();
    const email = withEmail?.email ?? '';
    const found = await client.findContactByEmail(email.toUpperCase());
    expect(found?.email?.toLowerCase()).toBe(email.toLowerCase());
  });

  it('filters contacts by the opportunity they are linked to', async () => {
    let linked: { opportunityId: string; contactId: string } | undefined;
    for await (const opportunity of client.iterateOpportunities({}, { pageSize: 20 })) {
      const contacts = await client.listOpportunityContacts(opportunity.id, { limit: 1 });
      const first = contacts.items[0];
      if (first) {
        linked = { opportunityId: opportunity.id, contactId: first.contactId };
        break;
      }
    }
    expect(linked).toBeDefined();
    if (!linked) return;
    const contacts = await client.listContacts({ opportunityId: linked.opportunityId, limit: 50 });
    expect(contacts.items.map((c) => c.id)).toContain(linked.contactId);
    const opportunities = await client.listOpportunities({ contactId: linked.contactId, limit: 50 });
    expect(opportunities.items.map((o) => o.id)).toContain(linked.opportunityId);
  });

  it('lists companies and finds one by exact name', async () => {
    const page = await client.listCompanies({ limit: 10 });
    const named = page.items.find((company) => company.name);
    expect(named).toBeTruthy();
    const found = await client.findCompanyByName(` ${(named?.name ?? '').toLowerCase()} `);
    expect(found?.name).toBe(named?.name);
  });

  it('answers 404 for an unknown opportunity', async () => {
    await expect(client.getOpportunity(randomUUID())).rejects.toBeInstanceOf(SalescalingNotFoundError);
  });

  it('answers 401 to a wrong key, after asking the provider for a fresh key once', async () => {
    const requests: boolean[] = [];
    const unauthorized = new SalescalingClient({
      baseUrl: target.baseUrl,
      apiKey: async ({ forceRefresh }) => {
        requests.push(forceRefresh);
        return `wrong-${randomUUID()}`;
      },
      limiter: limiterFor(target),
      fetch: recorder.fetch,
    });
    const failure = unauthorized.listOpportunities({ limit: 1 });
    await expect(failure).rejects.toBeInstanceOf(SalescalingUnauthorizedError);
    await expect(failure).rejects.toMatchObject({ status: 401, operation: 'listOpportunities' });
    expect(requests).toEqual([false, true]);
  });

  it('rejects invalid input before sending anything, naming the fields', async () => {
    const before = target.admin ? (await target.admin.stats()).requests.lastSeq : 0;
    const failure = client.listOpportunities({ limit: 0, contactId: 'not-a-uuid' });
    await expect(failure).rejects.toBeInstanceOf(SalescalingInvalidRequestError);
    await expect(failure).rejects.toMatchObject({
      fields: expect.arrayContaining([
        expect.objectContaining({ field: 'limit' }),
        expect.objectContaining({ field: 'contactId' }),
      ]),
    });
    if (target.admin) expect((await target.admin.stats()).requests.lastSeq).toBe(before);
  });
});

const runWrites =
  process.env.SALESCALING_BASE_URL === undefined || process.env.SALESCALING_CONTRACT_WRITES === 'true';
if (!runWrites)
  console.info('Salescaling contract suite: live and read-only, write operations not exercised');

describe.runIf(runWrites)('write operations', () => {
  const created: string[] = [];

  afterAll(async () => {
    for (const id of created) await client.deleteOpportunity(id).catch(() => undefined);
  });

  it('creates, reads, updates, links, unlinks and deletes an opportunity', async () => {
    const tag = `contract-test-${randomUUID().slice(0, 8)}`;
    const company = await client.createCompany({ name: `${tag} Corp`, domain: `${tag}.example` });
    expect(company.name).toBe(`${tag} Corp`);
    const contact = await client.createContact({
      firstName: 'Ada',
      lastName: tag,
      email: `ada@${tag}.example`,
      titlePosition: 'CTO',
    });
    expect(contact.email).toBe(`ada@${tag}.example`);
    expect(contact.titlePosition).toBe('CTO');

    const opportunity = await client.createOpportunity({
      name: `${tag} deal`,
      amount: 50_000,
      description: 'contract suite',
      closeDate: '2030-03-10',
      closeProbability: 40,
      status: 'open',
    });
    created.push(opportunity.id);
    expect(opportunity).toMatchObject({
      name: `${tag} deal`,
      amount: 50_000,
      closeDate: '2030-03-10T00:00:00.000Z',
    });

    const read = await client.getOpportunity(opportunity.id);
    expect(read.description).toBe('contract suite');
    expect((await client.listOpportunities({ name: tag })).items.map((o) => o.id)).toEqual([opportunity.id]);

    const updated = await client.updateOpportunity(opportunity.id, { closeProbability: 80 });
    expect(updated).toMatchObject({ closeProbability: 80, amount: 50_000, description: 'contract suite' });
    expect((await client.getOpportunity(opportunity.id)).closeProbability).toBe(80);

    await client.linkContact(opportunity.id, contact.id);
    await client.linkCompany(opportunity.id, company.id);
    const contacts = await client.listOpportunityContacts(opportunity.id);
    expect(contacts.items).toEqual([
      expect.objectContaining({ contactId: contact.id, contactEmail: `ada@${tag}.example` }),
    ]);
    const companies = await client.listOpportunityCompanies(opportunity.id);
    expect(companies.items).toEqual([
      expect.objectContaining({ companyId: company.id, companyName: `${tag} Corp` }),
    ]);
    expect((await client.listOpportunities({ contactId: contact.id })).items.map((o) => o.id)).toEqual([
      opportunity.id,
    ]);
    expect((await client.listContacts({ opportunityId: opportunity.id })).items.map((c) => c.id)).toEqual([
      contact.id,
    ]);
    expect((await client.findContactByEmail(`ADA@${tag}.example`))?.id).toBe(contact.id);
    expect((await client.findCompanyByName(`${tag} corp`))?.id).toBe(company.id);

    await client.unlinkContact(opportunity.id, contact.id);
    await client.unlinkCompany(opportunity.id, company.id);
    expect((await client.listOpportunityContacts(opportunity.id)).items).toEqual([]);
    expect((await client.listOpportunityCompanies(opportunity.id)).items).toEqual([]);

    await client.deleteOpportunity(opportunity.id);
    created.pop();
    await expect(client.getOpportunity(opportunity.id)).rejects.toBeInstanceOf(SalescalingNotFoundError);
    expect((await client.listOpportunities({ name: tag })).items).toEqual([]);
    // DELETE_MEANS: deleted at once and for good, so a second delete is 404 ("already gone").
    await expect(client.deleteOpportunity(opportunity.id)).rejects.toBeInstanceOf(SalescalingNotFoundError);
  });

  it('keeps fields the update did not name (safe update under either PUT reading)', async () => {
    const opportunity = await client.createOpportunity({
      name: `contract-test-${randomUUID().slice(0, 8)} safe`,
      amount: 1200,
      featuredNotes: 'keep me',
      nextStep: 'Demo',
      status: 'open',
    });
    created.push(opportunity.id);
    const updated = await client.updateOpportunity(opportunity.id, (current) => ({
      amount: (current.amount ?? 0) + 800,
    }));
    expect(updated).toMatchObject({
      amount: 2000,
      featuredNotes: 'keep me',
      nextStep: 'Demo',
      status: 'open',
    });
  });

  /** The account's statuses: OPPORTUNITY_STATUSES as the functions read it (defaults when unset). */
  const statuses = opportunityStatusesEnv.parse(process.env.OPPORTUNITY_STATUSES);

  it('honours the assumptions (shared/salescaling/assumptions.ts) it can observe', async () => {
    const tag = `contract-test-${randomUUID().slice(0, 8)}`;
    const make = async (name: string) => {
      const opportunity = await client.createOpportunity({ name: `${tag} ${name}`, status: statuses.open });
      created.push(opportunity.id);
      return opportunity;
    };
    const first = await make('first');
    const second = await make('second');
    // LIST_ORDER: oldest first, so the sweep's pages stay put as it closes deals.
    const listed = (await client.listOpportunities({ name: tag })).items.map((o) => o.id);
    expect(LIST_ORDER).toBe('oldest-first');
    expect(listed).toEqual([first.id, second.id]);
    // Statuses: the account takes the ones the functions write, and closeDate round-trips.
    const closedAt = '2026-11-28T10:15:00.000Z';
    for (const status of [statuses.won, statuses.lost]) {
      const closed = await client.updateOpportunity(second.id, { status, closeDate: closedAt });
      expect(closed).toMatchObject({ status, closeDate: closedAt });
    }
    // LINKS: linking twice succeeds without a second link; another company adds one, the first primary.
    const contact = await client.createContact({ email: `bob@${tag}.example` });
    const one = await client.createCompany({ name: `${tag} One` });
    const two = await client.createCompany({ name: `${tag} Two` });
    expect(LINKS.linkingTwice).toBe('succeeds-without-duplicate');
    await client.linkContact(first.id, contact.id);
    await client.linkContact(first.id, contact.id);
    expect((await client.listOpportunityContacts(first.id)).items).toHaveLength(1);
    await client.linkCompany(first.id, one.id);
    await client.linkCompany(first.id, two.id);
    const companies = (await client.listOpportunityCompanies(first.id)).items;
    expect(companies.map((c) => [c.companyId, c.isPrimary])).toEqual([
      [one.id, true],
      [two.id, false],
    ]);
  });
});
