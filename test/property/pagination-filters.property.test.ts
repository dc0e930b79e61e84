import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useEmulator } from '#test/support/emulator.ts';

/**
 * Properties of pagination and filters, checked through the real client over HTTP against the
 * emulator, compared with a plain in-memory model of the same data.
 */
const ctx = useEmulator();

// Names mixing case, accents and spaces, so case folding and partial matching are really exercised.
const nameChar = fc.constantFrom(...'aAbBcCéÉöÖ xyZ-'.split(''));
const nameArb = fc.string({ unit: nameChar, minLength: 1, maxLength: 8 });

const includesFolded = (haystack: string, needle: string) =>
  haystack.toLowerCase().includes(needle.toLowerCase());

describe('pagination', () => {
  it('iterating every page yields each record exactly once, in creation order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 45 }),
        fc.integer({ min: 1, max: 12 }),
        async (count, pageSize) => {
          ctx.emulator.store.reset();
          ctx.emulator.log.clear();
          const ids = Array.from(
            { length: count },
            (_, i) => ctx.emulator.store.createOpportunity({ name: `o${i}` }).id,
          );
          const seen: string[] = [];
          for await (const opportunity of ctx.client().iterateOpportunities({}, { pageSize }))
            seen.push(opportunity.id);
          expect(seen).toEqual(ids);
          // A short page ends the walk: exactly one request per full page, plus the short one.
          expect(ctx.emulator.log.list({ operation: 'listOpportunities' })).toHaveLength(
            Math.floor(count / pageSize) + 1,
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it('any page holds the slice [(page-1)·limit, page·limit) of the records', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        async (count, limit, page) => {
          ctx.emulator.store.reset();
          const ids = Array.from(
            { length: count },
            (_, i) => ctx.emulator.store.createContact({ firstName: `c${i}` }).id,
          );
          const result = await ctx.client().listContacts({ page, limit });
          expect(result.items.map((c) => c.id)).toEqual(ids.slice((page - 1) * limit, page * limit));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('filters', () => {
  it('opportunity name filter is a case-insensitive partial match', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nameArb, { maxLength: 15 }), nameArb, async (names, query) => {
        ctx.emulator.store.reset();
        const records = names.map((name) => ctx.emulator.store.createOpportunity({ name }));
        const found = [];
        for await (const o of ctx.client().iterateOpportunities({ name: query }, { pageSize: 4 }))
          found.push(o.id);
        expect(found).toEqual(records.filter((r) => includesFolded(String(r.name), query)).map((r) => r.id));
      }),
      { numRuns: 40 },
    );
  });

  it('contactId and opportunityId filters follow the links both ways', async () => {
    const links = fc.array(fc.tuple(fc.nat(5), fc.nat(4)), { maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(links, fc.nat(5), fc.nat(4), async (pairs, oppIndex, contactIndex) => {
        ctx.emulator.store.reset();
        const opportunities = Array.from({ length: 6 }, (_, i) =>
          ctx.emulator.store.createOpportunity({ name: `o${i}` }),
        );
        const contacts = Array.from({ length: 5 }, (_, i) =>
          ctx.emulator.store.createContact({ firstName: `c${i}` }),
        );
        const linked = new Set<string>();
        for (const [o, c] of pairs) {
          ctx.emulator.store.linkContact(opportunities[o]?.id ?? '', contacts[c]?.id ?? '');
          linked.add(`${o}:${c}`);
        }
        const client = ctx.client();
        const contactId = contacts[contactIndex]?.id ?? '';
        const byContact = (await client.listOpportunities({ contactId, limit: 100 })).items.map((o) => o.id);
        expect(byContact).toEqual(
          opportunities.filter((_, o) => linked.has(`${o}:${contactIndex}`)).map((o) => o.id),
        );
        const opportunityId = opportunities[oppIndex]?.id ?? '';
        const byOpportunity = (await client.listContacts({ opportunityId, limit: 100 })).items.map(
          (c) => c.id,
        );
        expect(byOpportunity).toEqual(
          contacts.filter((_, c) => linked.has(`${oppIndex}:${c}`)).map((c) => c.id),
        );
        const linkedContacts = [];
        for await (const link of client.iterateOpportunityContacts(opportunityId, { pageSize: 2 })) {
          linkedContacts.push(link.contactId);
        }
        expect(new Set(linkedContacts)).toEqual(new Set(byOpportunity));
        expect(linkedContacts).toHaveLength(byOpportunity.length);
      }),
      { numRuns: 30 },
    );
  });

  it('contact email and name filters match partially, ignoring case; the exact lookup finds only equals', async () => {
    const person = fc.record({ first: nameArb, last: nameArb, user: fc.stringMatching(/^[a-z]{1,5}$/) });
    await fc.assert(
      fc.asyncProperty(fc.array(person, { minLength: 1, maxLength: 8 }), nameArb, async (people, query) => {
        ctx.emulator.store.reset();
        const records = people.map((p, i) =>
          ctx.emulator.store.createContact({
            firstName: p.first,
            lastName: p.last,
            email: `${p.user}${i}@ex.com`,
          }),
        );
        const client = ctx.client();
        const byName = (await client.listContacts({ name: query, limit: 100 })).items.map((c) => c.id);
        const expected = records.filter((r) =>
          [String(r.firstName), String(r.lastName), `${r.firstName} ${r.lastName}`].some((h) =>
            includesFolded(h, query),
          ),
        );
        expect(byName).toEqual(expected.map((r) => r.id));
        const target = records[0];
        const exact = await client.findContactByEmail(String(target?.email).toUpperCase());
        expect(exact?.id).toBe(target?.id);
      }),
      { numRuns: 30 },
    );
  });
});
