import { describe, expect, it } from 'vitest';
import { syncLead } from '#functions/lead-sync/sync.ts';
import { type Lead, leadSchema } from '#shared/leads/lead.ts';
import { ORPHAN_SEARCH_MAX_MATCHES } from '#shared/opportunities/upsert.ts';
import { SalescalingInvalidRequestError } from '#shared/salescaling/errors.ts';
import { useEmulator } from '#test/support/emulator.ts';

/** The lead sync against the emulator over real HTTP, with its fault injection. */
const ctx = useEmulator();
const options = { statusOnCreate: 'open' };

function lead(
  overrides: {
    email?: string;
    company?: Lead['company'];
    opportunity?: Lead['opportunity'];
    id?: string;
  } = {},
): Lead {
  return leadSchema.parse({
    schemaVersion: 1,
    submissionId: overrides.id ?? `sub-${Math.random().toString(36).slice(2)}`,
    source: { provider: 'typeform', formId: 'f1' },
    submittedAt: '2026-11-28T09:00:00.000Z',
    receivedAt: '2026-11-28T09:00:01.000Z',
    contact: {
      email: overrides.email ?? 'grace@cobol.example.org',
      firstName: 'Grace',
      lastName: 'Hopper',
      jobTitle: 'CTO',
    },
    company: overrides.company ?? { name: 'Cobol Industries', domain: 'cobol.example.org' },
    opportunity: overrides.opportunity ?? {
      name: 'Cobol – 40 seats',
      amount: 48_000,
      description: 'Two regions',
    },
    fields: {},
  });
}

const store = () => ctx.emulator.store.stats();
const requests = async () => (await ctx.admin.requests()).length;

/** Runs the sync until it succeeds, as the queue would redeliver; returns the attempts it took. */
async function untilSynced(l: Lead, client = ctx.client()) {
  for (let attempt = 1; attempt <= 30; attempt++) {
    try {
      return { result: await syncLead(l, client, options), attempt };
    } catch (error) {
      if (error instanceof SalescalingInvalidRequestError) throw error;
    }
  }
  throw new Error('never converged');
}

describe('a new lead', () => {
  it('creates the contact, company and opportunity and links both, in 7 calls', async () => {
    const result = await syncLead(lead(), ctx.client(), options);
    expect(result).toMatchObject({
      opportunity: 'created',
      contactCreated: true,
      companyCreated: true,
      contactLinked: true,
      companyLinked: true,
    });
    expect(store()).toMatchObject({
      opportunities: 1,
      contacts: 1,
      companies: 1,
      contactLinks: 1,
      companyLinks: 1,
    });
    const opportunity = ctx.emulator.store.getOpportunity(result.opportunityId);
    expect(opportunity).toMatchObject({
      name: 'Cobol – 40 seats',
      amount: 48_000,
      description: 'Two regions',
      status: 'open',
    });
    expect(ctx.emulator.store.getContact(result.contactId)).toMatchObject({
      email: 'grace@cobol.example.org',
      titlePosition: 'CTO',
      leadSource: 'typeform',
    });
    // Find contact, create it, search companies (one search serves domain and name), create it,
    // create the opportunity, link the contact, link the company.
    expect(result.calls).toBe(7);
    expect(await requests()).toBe(result.calls);
  });

  it('names the opportunity after the company when the lead gives no name', async () => {
    const result = await syncLead(lead({ opportunity: {} }), ctx.client(), options);
    expect(ctx.emulator.store.getOpportunity(result.opportunityId)?.name).toBe(
      'Cobol Industries – inbound lead',
    );
  });

  it('makes no company for a free-mail lead without a company', async () => {
    const result = await syncLead(lead({ email: 'ann@gmail.com', company: {} }), ctx.client(), options);
    expect(result.companyId).toBeUndefined();
    expect(store()).toMatchObject({ companies: 0, opportunities: 1, contactLinks: 1, companyLinks: 0 });
  });
});

describe('existing records', () => {
  it('reuses a returning contact (matched exactly, whatever the case)', async () => {
    ctx.emulator.store.createContact({ email: 'Grace@Cobol.example.org', firstName: 'Grace' });
    ctx.emulator.store.createContact({ email: 'grace@cobol.example.org.evil.example' });
    const result = await syncLead(lead(), ctx.client(), options);
    expect(result.contactCreated).toBe(false);
    expect(store().contacts).toBe(2);
  });

  it('reuses a company found by domain, whatever its name', async () => {
    const company = ctx.emulator.store.createCompany({ name: 'COBOL Holdings', domain: 'cobol.example.org' });
    const result = await syncLead(lead(), ctx.client(), options);
    expect(result).toMatchObject({ companyId: company.id, companyCreated: false });
    expect(store().companies).toBe(1);
  });

  it('reuses a company found by exact name when the domain finds none', async () => {
    const company = ctx.emulator.store.createCompany({ name: 'Cobol Industries' });
    const result = await syncLead(
      lead({ company: { name: 'cobol industries', domain: 'cobol-ind.example.com' } }),
      ctx.client(),
      options,
    );
    expect(result).toMatchObject({ companyId: company.id, companyCreated: false });
  });

  it("fills in only what the contact's opportunity of the same name lacks, never changes what it holds", async () => {
    const first = await syncLead(
      lead({ opportunity: { name: 'Cobol – 40 seats', amount: 48_000 } }),
      ctx.client(),
      options,
    );
    await ctx.admin.clearRequests();
    // A returning lead offers another amount (held: kept) and a description (none held: filled in).
    const returning = await syncLead(
      lead({ opportunity: { name: 'Cobol – 40 seats', amount: 52_000, description: 'Two regions' } }),
      ctx.client(),
      options,
    );
    expect(returning).toMatchObject({
      opportunityId: first.opportunityId,
      opportunity: 'updated',
      changed: ['description'],
      kept: ['amount'],
      contactLinked: false,
      companyLinked: false,
    });
    expect(ctx.emulator.store.getOpportunity(first.opportunityId)).toMatchObject({
      amount: 48_000,
      description: 'Two regions',
      status: 'open',
    });
    const puts = await ctx.admin.requests({ operation: 'updateOpportunity' });
    expect(puts).toHaveLength(1);
    expect(returning.calls).toBeLessThan(first.calls);
    expect(store()).toMatchObject({ opportunities: 1, contactLinks: 1, companyLinks: 1 });

    await ctx.admin.clearRequests();
    const again = await syncLead(
      lead({ opportunity: { name: 'Cobol – 40 seats', amount: 1, description: 'pwned' } }),
      ctx.client(),
      options,
    );
    expect(again).toMatchObject({ opportunity: 'unchanged', changed: [], kept: ['amount', 'description'] });
    expect(ctx.emulator.store.getOpportunity(first.opportunityId)).toMatchObject({
      amount: 48_000,
      description: 'Two regions',
    });
    expect(await ctx.admin.requests({ operation: 'updateOpportunity' })).toEqual([]);
    expect(again.calls).toBe(4);
  });

  it('a returning lead naming another company does not add it to an opportunity that has one', async () => {
    const first = await syncLead(lead(), ctx.client(), options);
    const other = await syncLead(
      lead({ company: { name: 'Evil Corp', domain: 'evil.example' } }),
      ctx.client(),
      options,
    );
    expect(other).toMatchObject({
      opportunityId: first.opportunityId,
      opportunity: 'unchanged',
      companyId: undefined,
      companyLinked: false,
      kept: ['company'],
    });
    expect(
      ctx.emulator.store
        .listOpportunityCompanies(first.opportunityId, { page: 1, limit: 10 })
        .map((l) => l.companyId),
    ).toEqual([first.companyId]);
  });

  it('gives two different leads of one contact one contact and two opportunities', async () => {
    await syncLead(lead({ opportunity: { name: 'Seats' } }), ctx.client(), options);
    await syncLead(lead({ opportunity: { name: 'Training' } }), ctx.client(), options);
    expect(store()).toMatchObject({
      contacts: 1,
      companies: 1,
      opportunities: 2,
      contactLinks: 2,
      companyLinks: 2,
    });
  });
});

describe('adopting only its own orphan', () => {
  /** A contact that already exists, so the sync looks for an orphan before creating. */
  const returningContact = () => ctx.emulator.store.createContact({ email: 'grace@cobol.example.org' });
  const deal = { name: 'Cobol – 40 seats', amount: 48_000, description: 'Two regions' };

  it.each([
    ['closed as lost', { ...deal, status: 'lost' }, {}],
    ['with another amount', { ...deal, amount: 2_000, status: 'open' }, {}],
    [
      'with another description',
      { name: deal.name, amount: 48_000, description: 'Theirs', status: 'open' },
      {},
    ],
    ['with a field the lead would not write', { ...deal, nextStep: 'Call the CFO', status: 'open' }, {}],
    [
      'created before the lead arrived',
      { ...deal, status: 'open' },
      { createdAt: '2026-11-01T00:00:00.000Z' },
    ],
  ] as const)('never takes over a contact-less opportunity of that name %s', async (_, fields, created) => {
    returningContact();
    const theirs = ctx.emulator.store.createOpportunity(fields, created);
    const result = await syncLead(lead({ opportunity: deal }), ctx.client(), options);
    expect(result.opportunity).toBe('created');
    expect(result.opportunityId).not.toBe(theirs.id);
    expect(ctx.emulator.store.getOpportunity(theirs.id)).toEqual(theirs);
    expect(ctx.emulator.store.listOpportunityContacts(theirs.id, { page: 1, limit: 10 })).toEqual([]);
    expect(ctx.emulator.store.listOpportunityCompanies(theirs.id, { page: 1, limit: 10 })).toEqual([]);
  });

  it('adopts the orphan its own create left (open, no contact, exactly its fields, made after it arrived)', async () => {
    returningContact();
    const orphan = ctx.emulator.store.createOpportunity({ ...deal, status: 'open' });
    const result = await syncLead(lead({ opportunity: deal }), ctx.client(), options);
    expect(result).toMatchObject({ opportunityId: orphan.id, opportunity: 'created', contactLinked: true });
    expect(store()).toMatchObject({ opportunities: 1, contactLinks: 1, companyLinks: 1 });
  });

  it('finds its orphan past the first page of a partial-name search (150 similar names before it)', async () => {
    returningContact();
    // Salescaling's name filter is a partial match: each of these matches the lead's deal name.
    for (let i = 0; i < 150; i++) {
      ctx.emulator.store.createOpportunity({ name: `${deal.name} (copy ${i})`, status: 'open' });
    }
    const orphan = ctx.emulator.store.createOpportunity({ ...deal, status: 'open' });
    await ctx.admin.clearRequests();
    const result = await syncLead(lead({ opportunity: deal }), ctx.client(), options);
    expect(result).toMatchObject({ opportunityId: orphan.id, opportunity: 'created', contactLinked: true });
    expect(result.orphanSearchStopped).toBeUndefined();
    expect(store()).toMatchObject({ opportunities: 151, contactLinks: 1, companyLinks: 1 });
    const lists = (await ctx.admin.requests()).filter((r) => r.operation === 'listOpportunities');
    // The contact's own deals (one page), then name matches: page 1 (100) and page 2, where it is.
    expect(lists).toHaveLength(3);
  });

  it(`stops the search at ${ORPHAN_SEARCH_MAX_MATCHES} matches, says so, and creates rather than reading on`, async () => {
    returningContact();
    for (let i = 0; i < ORPHAN_SEARCH_MAX_MATCHES + 50; i++) {
      ctx.emulator.store.createOpportunity({ name: `${deal.name} (copy ${i})`, status: 'open' });
    }
    const beyond = ctx.emulator.store.createOpportunity({ ...deal, status: 'open' });
    await ctx.admin.clearRequests();
    const result = await syncLead(lead({ opportunity: deal }), ctx.client(), options);
    expect(result).toMatchObject({ opportunity: 'created', orphanSearchStopped: true });
    expect(result.opportunityId).not.toBe(beyond.id);
    const lists = (await ctx.admin.requests()).filter((r) => r.operation === 'listOpportunities');
    // The contact's own deals (one page) and ten pages of 100 name matches; no more.
    expect(lists).toHaveLength(1 + ORPHAN_SEARCH_MAX_MATCHES / 100);
  });
});

describe('safe to repeat after a crash at any point', () => {
  it.each([
    ['after the contact is created', 'createContact'],
    ['after the company is created', 'createCompany'],
    ['after the opportunity is created', 'createOpportunity'],
    ['after the contact is linked', 'linkOpportunityContact'],
    ['after the company is linked', 'linkOpportunityCompany'],
  ] as const)('a crash %s, then a retry: one of everything', async (_, operation) => {
    // The write is applied but its answer never arrives, and the next call fails: the run dies there.
    await ctx.admin.scriptFaults([
      { fault: 'drop', when: 'after', operation },
      { fault: 'error', status: 503, times: 3 },
    ]);
    const client = ctx.client({ retries: 0 });
    await expect(syncLead(lead({ id: 'same' }), client, options)).rejects.toThrow();
    const { result } = await untilSynced(lead({ id: 'same' }), client);
    expect(store()).toMatchObject({
      opportunities: 1,
      contacts: 1,
      companies: 1,
      contactLinks: 1,
      companyLinks: 1,
    });
    expect(
      ctx.emulator.store.listOpportunityContacts(result.opportunityId, { page: 1, limit: 10 }),
    ).toHaveLength(1);
  });

  it('repeating a finished sync changes nothing', async () => {
    const first = await syncLead(lead(), ctx.client(), options);
    const again = await syncLead(lead(), ctx.client(), options);
    expect(again).toMatchObject({
      opportunityId: first.opportunityId,
      opportunity: 'unchanged',
      contactLinked: false,
      companyLinked: false,
    });
    expect(store()).toMatchObject({
      opportunities: 1,
      contacts: 1,
      companies: 1,
      contactLinks: 1,
      companyLinks: 1,
    });
  });
});

describe('under fault storms', () => {
  it('5xx, 429, drops and hangs: every lead converges, with no duplicates', async () => {
    await ctx.admin.setFaults({
      errorRate: 0.2,
      rateLimitRate: 0.1,
      retryAfterSeconds: 0,
      dropRate: 0.05,
      seed: 11,
    });
    const client = ctx.client({ retries: 4, timeoutMs: 500 });
    const emails = ['a@one.example.com', 'b@two.example.com', 'c@one.example.com', 'd@gmail.com'];
    for (const [i, email] of emails.entries()) {
      await untilSynced(
        lead({
          email,
          id: `storm-${i}`,
          company: email.endsWith('gmail.com') ? {} : { domain: email.split('@')[1] ?? '' },
          opportunity: { name: `Deal ${i}` },
        }),
        client,
      );
    }
    await ctx.admin.clearFaults();
    expect(store()).toMatchObject({
      contacts: 4,
      companies: 2,
      opportunities: 4,
      contactLinks: 4,
      companyLinks: 3,
    });
    const faults = (await ctx.admin.requests()).filter((r) => r.fault !== null);
    expect(faults.length).toBeGreaterThan(5);
  });
});

describe('invalid data', () => {
  it('a lead Salescaling refuses is an invalid-request error, not retried', async () => {
    await ctx.admin.scriptFaults([{ fault: 'error', status: 422, operation: 'createOpportunity' }]);
    await expect(syncLead(lead(), ctx.client(), options)).rejects.toBeInstanceOf(
      SalescalingInvalidRequestError,
    );
    expect(await ctx.admin.requests({ operation: 'createOpportunity' })).toHaveLength(1);
  });
});

describe('Salescaling calls per lead (the figures in docs/performance.md)', () => {
  it.each([
    ['new contact, new company (its name contains the domain label), new opportunity', [], lead(), 7],
    [
      'new contact, new company (name unlike the domain), new opportunity',
      [],
      lead({ company: { name: 'Grace Systems', domain: 'cobol.example.org' } }),
      8,
    ],
    [
      'new free-mail contact, no company, new opportunity',
      [],
      lead({ email: 'ann@gmail.com', company: {} }),
      4,
    ],
    ['returning contact and company, new opportunity', ['contact', 'company'], lead(), 7],
    ['returning contact, company and opportunity, nothing changed', ['all'], lead(), 4],
    [
      'returning contact, company and opportunity, a field it lacks (description, with the target date)',
      ['no-description'],
      lead({
        opportunity: {
          name: 'Cobol – 40 seats',
          amount: 48_000,
          description: 'Two regions',
          targetDate: '2027-01-31T00:00:00.000Z',
        },
      }),
      5,
    ],
    [
      'returning contact, company and opportunity, another amount (kept)',
      ['all'],
      lead({ opportunity: { name: 'Cobol – 40 seats', amount: 60_000, description: 'Two regions' } }),
      4,
    ],
  ] as const)('%s: %i calls', async (_, existing, l, expected) => {
    if (existing.length > 0) {
      await syncLead(
        lead({
          opportunity: (existing as readonly string[]).includes('all')
            ? { name: 'Cobol – 40 seats', amount: 48_000, description: 'Two regions' }
            : (existing as readonly string[]).includes('no-description')
              ? { name: 'Cobol – 40 seats', amount: 48_000 }
              : { name: 'Earlier deal' },
        }),
        ctx.client(),
        options,
      );
      await ctx.admin.clearRequests();
    }
    const result = await syncLead(l, ctx.client(), options);
    expect(result.calls).toBe(expected);
    expect(await requests()).toBe(expected);
  });
});
