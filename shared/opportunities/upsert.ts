import { countCalls } from '#shared/salescaling/call-counter.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { SalescalingError } from '#shared/salescaling/errors.ts';
import {
  type Company,
  type Contact,
  type Opportunity,
  type OpportunityInput,
  opportunityWritableFields,
} from '#shared/salescaling/schemas.ts';

/**
 * One up-to-date opportunity, linked to its contact and company: what a lead (lead sync) and an
 * `Upsert Opportunity` command both come down to. Every step looks
 * before it writes, so running it again after a crash at any point converges on the same records:
 *
 * 1. Contact: taken by id, or found by exact email (case-insensitive; the API filter is a partial
 *    match), else created.
 * 2. Company (when given): taken by id, or found by domain, else by exact name,
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
export interface UpsertInput {
  contact:
    | { id: string }
    | {
        email: string;
        firstName?: string | undefined;
        lastName?: string | undefined;
        phone?: string | undefined;
        jobTitle?: string | undefined;
        leadSource?: string | undefined;
      };
  company?: { id: string } | { domain?: string | undefined; name?: string | undefined } | undefined;
  opportunity: {
    name: string;
    amount?: number | undefined;
    description?: string | undefined;
    closeDate?: string | undefined;
    nextStep?: string | undefined;
  };
}

export interface UpsertResult {
  opportunityId: string;
  opportunity: 'created' | 'updated' | 'unchanged';
  /** The fields written to an existing opportunity. */
  changed: string[];
  contactId: string;
  contactCreated: boolean;
  companyId: string | undefined;
  companyCreated: boolean;
  contactLinked: boolean;
  companyLinked: boolean;
  calls: number;
}

export interface UpsertOptions {
  /** Status written on creation (Salescaling documents `open`). */
  statusOnCreate: string;
}

export async function upsertOpportunity(
  input: UpsertInput,
  client: SalescalingClient,
  options: UpsertOptions,
): Promise<UpsertResult> {
  const { result, calls } = await countCalls(() => run(input, client, options));
  return { ...result, calls: calls.total };
}

async function run(
  input: UpsertInput,
  client: SalescalingClient,
  options: UpsertOptions,
): Promise<Omit<UpsertResult, 'calls'>> {
  const { contact, created: contactCreated } = await findOrCreateContact(client, input.contact);
  const company = await findOrCreateCompany(client, input.company);
  const { name } = input.opportunity;
  let changed: string[] = [];

  let opportunity: Opportunity | undefined;
  let state: UpsertResult['opportunity'] = 'unchanged';
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
    const changes = changedFields(opportunity, input.opportunity);
    changed = Object.keys(changes);
    if (changed.length > 0) {
      opportunity = await client.putOpportunity(opportunity.id, {
        ...writable(opportunity),
        ...changes,
      } as OpportunityInput);
      if (state === 'unchanged') state = 'updated';
    }
  } else {
    opportunity = await createOpportunity(client, input.opportunity, options);
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
    changed,
    contactId: contact.id,
    contactCreated,
    companyId: company?.record.id,
    companyCreated: company?.created ?? false,
    contactLinked: newlyLinkedContact,
    companyLinked: newlyLinkedCompany,
  };
}

async function findOrCreateContact(
  client: SalescalingClient,
  ref: UpsertInput['contact'],
): Promise<{ contact: Pick<Contact, 'id'>; created: boolean }> {
  if ('id' in ref) return { contact: { id: ref.id }, created: false };
  const find = () => client.findContactByEmail(ref.email);
  const existing = await find();
  if (existing) return { contact: existing, created: false };
  const contact = await createOrLookUp(
    () =>
      client.createContact({
        email: ref.email,
        firstName: ref.firstName,
        lastName: ref.lastName,
        phone: ref.phone,
        titlePosition: ref.jobTitle,
        leadSource: ref.leadSource,
      }),
    find,
  );
  return { contact, created: true };
}

async function findOrCreateCompany(
  client: SalescalingClient,
  ref: UpsertInput['company'],
): Promise<{ record: Pick<Company, 'id'>; created: boolean } | undefined> {
  if (!ref) return undefined;
  if ('id' in ref) return { record: { id: ref.id }, created: false };
  const { domain, name } = ref;
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
  fields: UpsertInput['opportunity'],
  options: UpsertOptions,
): Promise<Opportunity> {
  const { name } = fields;
  return createOrLookUp(
    () =>
      client.createOpportunity({
        name,
        status: options.statusOnCreate,
        ...hints(fields),
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

function hints(fields: UpsertInput['opportunity']): Partial<OpportunityInput> {
  return {
    ...(fields.amount !== undefined ? { amount: fields.amount } : {}),
    ...(fields.description ? { description: fields.description } : {}),
    ...(fields.closeDate ? { closeDate: fields.closeDate } : {}),
    ...(fields.nextStep ? { nextStep: fields.nextStep } : {}),
  };
}

/** The given fields that differ from what Salescaling holds; nothing else is written. */
export function changedFields(
  current: Opportunity,
  fields: UpsertInput['opportunity'],
): Partial<OpportunityInput> {
  const wanted = hints(fields);
  const changes: Partial<OpportunityInput> = {};
  if (wanted.amount !== undefined && current.amount !== wanted.amount) changes.amount = wanted.amount;
  if (wanted.description && current.description !== wanted.description)
    changes.description = wanted.description;
  if (wanted.nextStep && current.nextStep !== wanted.nextStep) changes.nextStep = wanted.nextStep;
  if (wanted.closeDate && Date.parse(String(current.closeDate)) !== Date.parse(String(wanted.closeDate))) {
    changes.closeDate = wanted.closeDate;
  }
  return changes;
}

/** Every writable field Salescaling holds (PUT may replace the record), nulls left out. */
function writable(opportunity: Opportunity): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of opportunityWritableFields) {
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
