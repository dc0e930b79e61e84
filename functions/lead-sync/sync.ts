import type { Lead } from '#shared/leads/lead.ts';
import { countCalls } from '#shared/salescaling/call-counter.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { SalescalingError } from '#shared/salescaling/errors.ts';
import type { Company, Contact, Opportunity, OpportunityInput } from '#shared/salescaling/schemas.ts';

/**
 * One lead → one up-to-date opportunity, linked to its contact and company. Every step looks
 * before it writes, so running it again after a crash at any point converges on the same records:
 *
 * 1. Contact: found by exact email (case-insensitive; the API filter is a partial match), else created.
 * 2. Company (when the lead names one or has a work domain): found by domain, else by exact name,
 *    else created. Salescaling lists companies by name only, so "by domain" searches names for the
 *    domain's label (`acme` for acme.com) and compares domains exactly.
 * 3. Opportunity: one linked to the contact with the same name is updated with the fields that
 *    changed; otherwise one is created. If the contact already existed, an unlinked opportunity of
 *    the same name (left by a run that crashed before linking) is adopted rather than duplicated.
 * 4. Links: the contact and the company are linked unless already linked.
 *
 * A create whose outcome is unknown (timeout, dropped connection) is never repeated blindly: the
 * record is looked up first. `calls` counts the HTTP requests sent to Salescaling, retries included.
 */
export interface SyncResult {
  opportunityId: string;
  opportunity: 'created' | 'updated' | 'unchanged';
  contactId: string;
  contactCreated: boolean;
  companyId: string | undefined;
  companyCreated: boolean;
  contactLinked: boolean;
  companyLinked: boolean;
  calls: number;
}

export interface SyncOptions {
  /** Status written on creation (Salescaling documents `open`). */
  statusOnCreate: string;
}

export async function syncLead(
  lead: Lead,
  client: SalescalingClient,
  options: SyncOptions,
): Promise<SyncResult> {
  const { result, calls } = await countCalls(() => run(lead, client, options));
  return { ...result, calls: calls.total };
}

async function run(
  lead: Lead,
  client: SalescalingClient,
  options: SyncOptions,
): Promise<Omit<SyncResult, 'calls'>> {
  const { contact, created: contactCreated } = await findOrCreateContact(client, lead);
  const company = await findOrCreateCompany(client, lead);
  const name = opportunityName(lead);

  let opportunity: Opportunity | undefined;
  let state: SyncResult['opportunity'] = 'unchanged';
  let contactLinked = false;
  let knownCompanyLinks: Set<string> | undefined;

  if (!contactCreated) {
    opportunity = (await client.listOpportunities({ contactId: contact.id, name, limit: 100 })).items.find(
      (o) => sameText(o.name, name),
    );
    if (opportunity) contactLinked = true;
    else {
      // Left by a run that crashed after creating it: created for this lead, and never announced.
      opportunity = await adoptOrphan(client, name);
      if (opportunity) state = 'created';
    }
  }

  if (opportunity) {
    const changes = changedFields(opportunity, lead);
    if (Object.keys(changes).length > 0) {
      opportunity = await client.putOpportunity(opportunity.id, {
        ...writable(opportunity),
        ...changes,
      } as OpportunityInput);
      if (state === 'unchanged') state = 'updated';
    }
  } else {
    opportunity = await createOpportunity(client, lead, name, options);
    state = 'created';
    knownCompanyLinks = new Set();
  }
  const opportunityId = opportunity.id;

  let newlyLinkedContact = false;
  if (!contactLinked) {
    await link(client, 'contact', opportunityId, contact.id);
    newlyLinkedContact = true;
  }

  let newlyLinkedCompany = false;
  if (company) {
    knownCompanyLinks ??= new Set(
      (await client.listOpportunityCompanies(opportunityId, { limit: 100 })).items.map((c) => c.companyId),
    );
    if (!knownCompanyLinks.has(company.record.id)) {
      await link(client, 'company', opportunityId, company.record.id);
      newlyLinkedCompany = true;
    }
  }

  return {
    opportunityId,
    opportunity: state,
    contactId: contact.id,
    contactCreated,
    companyId: company?.record.id,
    companyCreated: company?.created ?? false,
    contactLinked: newlyLinkedContact,
    companyLinked: newlyLinkedCompany,
  };
}

/** The opportunity's name: the lead's own, else "<company or person> – inbound lead", stable per lead. */
export function opportunityName(lead: Lead): string {
  if (lead.opportunity.name) return lead.opportunity.name;
  const person = [lead.contact.firstName, lead.contact.lastName].filter(Boolean).join(' ');
  const who = lead.company.name ?? (person || lead.contact.email);
  return `${who} – inbound lead`;
}

async function findOrCreateContact(
  client: SalescalingClient,
  lead: Lead,
): Promise<{ contact: Contact; created: boolean }> {
  const find = () => client.findContactByEmail(lead.contact.email);
  const existing = await find();
  if (existing) return { contact: existing, created: false };
  const contact = await createOrLookUp(
    () =>
      client.createContact({
        email: lead.contact.email,
        firstName: lead.contact.firstName,
        lastName: lead.contact.lastName,
        phone: lead.contact.phone,
        titlePosition: lead.contact.jobTitle,
        leadSource: lead.source.provider,
      }),
    find,
  );
  return { contact, created: true };
}

async function findOrCreateCompany(
  client: SalescalingClient,
  lead: Lead,
): Promise<{ record: Company; created: boolean } | undefined> {
  const { domain, name } = lead.company;
  if (!domain && !name) return undefined;
  const label = domain?.split('.')[0];
  const searched = new Map<string, Company[]>();
  const search = async (text: string) => {
    const key = text.toLowerCase();
    if (!searched.has(key)) searched.set(key, (await client.listCompanies({ name: text, limit: 100 })).items);
    return searched.get(key) ?? [];
  };
  const find = async (): Promise<Company | undefined> => {
    if (domain && label) {
      const byDomain = (await search(label)).find((c) => sameText(c.domain, domain));
      if (byDomain) return byDomain;
      // A name search that contains the label already returned any company of that domain.
      if (name?.toLowerCase().includes(label.toLowerCase())) {
        return (await search(label)).find((c) => sameText(c.name, name));
      }
    }
    if (name)
      return (await search(name)).find(
        (c) => sameText(c.name, name) || (domain && sameText(c.domain, domain)),
      );
    return undefined;
  };
  const existing = await find();
  if (existing) return { record: existing, created: false };
  searched.clear(); // a look-up after an ambiguous create must ask again
  const record = await createOrLookUp(
    () => client.createCompany({ name: name ?? companyNameFromDomain(domain ?? ''), domain }),
    find,
  );
  return { record, created: true };
}

async function createOpportunity(
  client: SalescalingClient,
  lead: Lead,
  name: string,
  options: SyncOptions,
): Promise<Opportunity> {
  return createOrLookUp(
    () =>
      client.createOpportunity({
        name,
        status: options.statusOnCreate,
        ...leadHints(lead),
      }),
    () => adoptOrphan(client, name),
  );
}

/** An opportunity with this name and no contact: what a run that crashed before linking left. */
async function adoptOrphan(client: SalescalingClient, name: string): Promise<Opportunity | undefined> {
  const candidates = (await client.listOpportunities({ name, limit: 100 })).items.filter((o) =>
    sameText(o.name, name),
  );
  for (const candidate of candidates) {
    const contacts = await client.listOpportunityContacts(candidate.id, { limit: 1 });
    if (contacts.items.length === 0) return candidate;
  }
  return undefined;
}

async function link(
  client: SalescalingClient,
  kind: 'contact' | 'company',
  opportunityId: string,
  id: string,
) {
  const isLinked = async () =>
    kind === 'contact'
      ? (await client.listOpportunityContacts(opportunityId, { limit: 100 })).items.some(
          (c) => c.contactId === id,
        )
      : (await client.listOpportunityCompanies(opportunityId, { limit: 100 })).items.some(
          (c) => c.companyId === id,
        );
  try {
    if (kind === 'contact') await client.linkContact(opportunityId, id);
    else await client.linkCompany(opportunityId, id);
  } catch (error) {
    // Lost answer: the link may exist. Check, and leave a retry to the queue if it does not.
    if (error instanceof SalescalingError && error.outcomeUnknown && (await isLinked())) return;
    throw error;
  }
}

/** Creates, and after a create of unknown outcome looks the record up instead of creating again. */
async function createOrLookUp<T>(create: () => Promise<T>, lookUp: () => Promise<T | undefined>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (!(error instanceof SalescalingError) || !error.outcomeUnknown) throw error;
    const found = await lookUp();
    if (found) return found;
    throw error;
  }
}

function leadHints(lead: Lead): Partial<OpportunityInput> {
  return {
    ...(lead.opportunity.amount !== undefined ? { amount: lead.opportunity.amount } : {}),
    ...(lead.opportunity.description ? { description: lead.opportunity.description } : {}),
    ...(lead.opportunity.closeDate ? { closeDate: lead.opportunity.closeDate } : {}),
  };
}

/** The lead's hints that differ from what Salescaling holds; nothing else is written. */
export function changedFields(current: Opportunity, lead: Lead): Partial<OpportunityInput> {
  const hints = leadHints(lead);
  const changes: Partial<OpportunityInput> = {};
  if (hints.amount !== undefined && current.amount !== hints.amount) changes.amount = hints.amount;
  if (hints.description && current.description !== hints.description) changes.description = hints.description;
  if (hints.closeDate && Date.parse(String(current.closeDate)) !== Date.parse(String(hints.closeDate))) {
    changes.closeDate = hints.closeDate;
  }
  return changes;
}

const WRITABLE = [
  'name',
  'amount',
  'finalAmount',
  'risk',
  'priority',
  'description',
  'featuredNotes',
  'nextStep',
  'closeDate',
  'closeProbability',
  'status',
] as const;

/** Every writable field Salescaling holds (PUT may replace the record), nulls left out. */
function writable(opportunity: Opportunity): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of WRITABLE) {
    const value = opportunity[key];
    if (value !== null && value !== undefined) fields[key] = value;
  }
  return fields;
}

function companyNameFromDomain(domain: string): string {
  const label = domain.split('.')[0] ?? domain;
  return label.charAt(0).toUpperCase() + label.slice(1);
}

function sameText(a: string | null | undefined, b: string | null | undefined): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.trim().toLowerCase() === b.trim().toLowerCase();
}
