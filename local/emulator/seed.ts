import { base, en, Faker } from '@faker-js/faker';
import * as z from 'zod';
import { emulatorSemantics } from './semantics.ts';
import type { EmulatorStore } from './store.ts';

const { statuses } = emulatorSemantics;

/**
 * Generated, repeatable data: companies, contacts (each at a company), and opportunities of which
 * a share is stale (open, untouched for longer than `staleAfterDays`) and a share is linked to a
 * contact and that contact's company. Same `seed`, same data (timestamps are relative to now).
 */
export const seedOptionsSchema = z
  .object({
    opportunities: z.number().int().min(0).max(100_000).default(20),
    contacts: z.number().int().min(0).max(100_000).optional(),
    companies: z.number().int().min(0).max(100_000).optional(),
    staleShare: z.number().min(0).max(1).default(0.25),
    staleAfterDays: z.number().int().min(1).max(3650).default(30),
    linkedShare: z.number().min(0).max(1).default(0.6),
    closedShare: z.number().min(0).max(1).default(0.15),
    seed: z.number().int().default(1),
  })
  .strict();
export type SeedOptions = z.input<typeof seedOptionsSchema>;

export interface SeedSummary {
  opportunities: number;
  contacts: number;
  companies: number;
  stale: number;
  linked: number;
  staleOpportunityIds: string[];
}

const DAY = 86_400_000;
const FREE_MAIL = ['gmail.com', 'outlook.com', 'yahoo.com'];

export function seedStore(
  store: EmulatorStore,
  input: SeedOptions = {},
  now: Date = new Date(),
): SeedSummary {
  const options = seedOptionsSchema.parse(input);
  const faker = new Faker({ locale: [en, base] });
  faker.seed(options.seed);
  const companyCount = options.companies ?? Math.ceil(options.opportunities / 2);
  const contactCount = options.contacts ?? options.opportunities;
  const ago = (days: number) => new Date(now.getTime() - days * DAY).toISOString();

  return store.transaction(() => {
    const companies = Array.from({ length: companyCount }, () => {
      const name = faker.company.name();
      const slug =
        name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '') || 'company';
      const createdAt = ago(faker.number.int({ min: 200, max: 900 }));
      return store.createCompany({ name, domain: `${slug}.example` }, { createdAt });
    });

    const contacts = Array.from({ length: contactCount }, () => {
      const firstName = faker.person.firstName();
      const lastName = faker.person.lastName();
      const company = companies.length > 0 ? faker.helpers.arrayElement(companies) : undefined;
      const provider = company ? String(company.domain) : faker.helpers.arrayElement(FREE_MAIL);
      const createdAt = ago(faker.number.int({ min: 30, max: 400 }));
      const contact = store.createContact(
        {
          firstName,
          lastName,
          email: faker.internet.email({ firstName, lastName, provider }).toLowerCase(),
          phone: faker.phone.number({ style: 'international' }),
          titlePosition: faker.person.jobTitle(),
          leadSource: faker.helpers.arrayElement(['Website', 'Referral', 'Event', 'Outbound']),
        },
        { createdAt, ...(company ? { companyId: company.id } : {}) },
      );
      return { contact, companyId: company?.id };
    });

    const summary: SeedSummary = {
      opportunities: options.opportunities,
      contacts: contacts.length,
      companies: companies.length,
      stale: 0,
      linked: 0,
      staleOpportunityIds: [],
    };

    for (let i = 0; i < options.opportunities; i++) {
      const roll = faker.number.float({ min: 0, max: 1 });
      const stale = roll < options.staleShare;
      const closed = !stale && roll < options.staleShare + options.closedShare;
      const idleDays = stale
        ? options.staleAfterDays + faker.number.int({ min: 1, max: 180 })
        : faker.number.int({ min: 0, max: Math.max(0, options.staleAfterDays - 2) });
      const createdAt = ago(idleDays + faker.number.int({ min: 1, max: 120 }));
      const amount = faker.number.int({ min: 1, max: 200 }) * 500;
      const opportunity = store.createOpportunity(
        {
          name: `${faker.commerce.productName()} for ${faker.company.name()}`,
          amount,
          finalAmount: closed ? amount : null,
          risk: faker.helpers.arrayElement(['Low', 'Medium', 'High']),
          priority: faker.helpers.arrayElement(['Low', 'Medium', 'High']),
          description: faker.lorem.sentence(),
          nextStep: faker.helpers.arrayElement(['FollowUp', 'Demo', 'Proposal', 'Negotiation']),
          // A closed deal's close date is when it closed (CLOSE_DATE_MEANS): in the past. An open
          // deal's is the date someone expects (the sweep's overdue rule): ahead or just passed for
          // the active ones, so the seed's stale deals are exactly those the default rules close.
          closeDate: new Date(
            now.getTime() +
              (closed
                ? -faker.number.int({ min: 1, max: 60 })
                : faker.number.int({ min: stale ? -60 : -7, max: 120 })) *
                DAY,
          ).toISOString(),
          closeProbability: faker.number.int({ min: 5, max: 95 }),
          status: closed ? faker.helpers.arrayElement([statuses.won, statuses.lost]) : statuses.open,
        },
        { createdAt, updatedAt: ago(idleDays) },
      );
      if (stale) {
        summary.stale += 1;
        summary.staleOpportunityIds.push(opportunity.id);
      }
      if (contacts.length > 0 && faker.number.float({ min: 0, max: 1 }) < options.linkedShare) {
        const { contact, companyId } = faker.helpers.arrayElement(contacts);
        store.linkContact(opportunity.id, contact.id);
        if (companyId) store.linkCompany(opportunity.id, companyId);
        summary.linked += 1;
      }
      if (faker.number.float({ min: 0, max: 1 }) < 0.2) {
        store.addIntegration(opportunity.id, {
          integrationType: 'crm',
          integrationName: faker.helpers.arrayElement(['HubSpot', 'Salesforce', 'Pipedrive']),
          integrationId: faker.string.uuid(),
        });
      }
    }
    return summary;
  });
}
