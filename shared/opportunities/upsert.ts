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
 * 3. Opportunity: one linked to the contact with the same name is updated (`existing`: in
 *    `overwrite` mode with the fields that changed, in `fill-empty` mode only with the fields it has
 *    none of); otherwise one is created. If the contact already existed, an orphan this same input
 *    would have created (left by a run that crashed before linking: see `isOwnOrphan`) is adopted
 *    rather than duplicated. Both searches read every page of the partial-name matches, up to
 *    `ORPHAN_SEARCH_MAX_MATCHES`.
 * 4. Links: the contact and the company are linked unless already linked (in `fill-empty` mode, an
 *    existing opportunity gets the company only when it has none).
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
  /** The name and any writable field (shared/opportunities/fields.ts has their types and bounds). */
  opportunity: {
    name: string;
    amount?: number | undefined;
    finalAmount?: number | undefined;
    risk?: string | undefined;
    priority?: string | undefined;
    description?: string | undefined;
    featuredNotes?: string | undefined;
    nextStep?: string | undefined;
    closeDate?: string | undefined;
    closeProbability?: number | undefined;
    /** The status to write, as the account names it (not a role); on creation, else `statusOnCreate`. */
    status?: string | undefined;
  };
}

/** The fields an input may give besides the name: the writable ones, in the reference's order. */
export const HINT_FIELDS = opportunityWritableFields.filter(
  (field): field is Exclude<(typeof opportunityWritableFields)[number], 'name'> => field !== 'name',
);
type HintField = (typeof HINT_FIELDS)[number];

/**
 * The fields an adopted orphan must hold nothing of when the input gave none: what the product has
 * always written. Salescaling may default the others on creation (undocumented), so an orphan is not
 * refused for holding one of them.
 */
const ORPHAN_EMPTY_UNLESS_GIVEN: readonly HintField[] = ['amount', 'description', 'nextStep', 'closeDate'];

export interface UpsertResult {
  opportunityId: string;
  opportunity: 'created' | 'updated' | 'unchanged';
  /** The fields written to an existing opportunity. */
  changed: string[];
  /**
   * What the input offered but `fill-empty` left as the CRM holds it: fields with another value, and
   * `company` when the opportunity already has a different company.
   */
  kept: string[];
  contactId: string;
  contactCreated: boolean;
  /** The input's company, when it is (now) linked to the opportunity. */
  companyId: string | undefined;
  companyCreated: boolean;
  contactLinked: boolean;
  companyLinked: boolean;
  /**
   * Present when the orphan search stopped at its bound (`ORPHAN_SEARCH_MAX_MATCHES` opportunities
   * whose names contain this one) without finding one: an orphan past the bound may be duplicated.
   */
  orphanSearchStopped?: true;
  calls: number;
}

export interface UpsertOptions {
  /** Status written on creation when the input gives none (Salescaling documents `open`). */
  statusOnCreate: string;
  /**
   * What the input may do to an opportunity that already exists. `overwrite`: write every given field
   * that differs (an integration's command, authorised by the bus policy). `fill-empty`: write only
   * the fields the opportunity has none of, and link a company only when it has none (a lead: a claim
   * from outside, which may add to the CRM but never change what it holds).
   */
  existing: 'fill-empty' | 'overwrite';
  /**
   * When the input arrived (a lead's `receivedAt`): an orphan created before it, less a clock-skew
   * allowance, cannot be this input's and is never adopted. Unset: no bound on age.
   */
  arrivedAt?: Date | undefined;
}

/** How far Salescaling's clock may trail ours when comparing an orphan's `createdAt` with `arrivedAt`. */
export const ORPHAN_CLOCK_SKEW_MS = 5 * 60_000;

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
  const kept: string[] = [];

  let opportunity: Opportunity | undefined;
  let state: UpsertResult['opportunity'] = 'unchanged';
  let contactLinked = false;
  let knownCompanyLinks: Set<string> | undefined;
  let orphanSearchStopped = false;

  if (!contactCreated) {
    opportunity = (
      await firstMatch(
        client.iterateOpportunities({ contactId: contact.id, name }, { pageSize: SEARCH_PAGE_SIZE }),
        (o) => sameText(o.name, name),
      )
    ).found;
    if (opportunity) contactLinked = true;
    else {
      // Left by a run that crashed after creating it: created for this input, and never announced.
      const orphan = await adoptOrphan(client, input.opportunity, options);
      opportunity = orphan.found;
      if (opportunity) state = 'created';
      if (!orphan.complete) orphanSearchStopped = true;
    }
  }

  if (opportunity) {
    const { changes, unchanged } = changedFields(opportunity, input.opportunity, options.existing);
    changed = Object.keys(changes);
    kept.push(...unchanged);
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
  let companyLinked = false;
  if (company) {
    knownCompanyLinks ??= new Set(
      (await client.listOpportunityCompanies(opportunityId, { limit: 100 })).items.map((c) => c.companyId),
    );
    if (knownCompanyLinks.has(company.record.id)) companyLinked = true;
    else if (options.existing === 'fill-empty' && knownCompanyLinks.size > 0) kept.push('company');
    else {
      await link(client, 'company', opportunityId, company.record.id);
      newlyLinkedCompany = true;
      companyLinked = true;
    }
  }

  return {
    opportunityId,
    opportunity: state,
    changed,
    kept,
    contactId: contact.id,
    contactCreated,
    companyId: companyLinked ? company?.record.id : undefined,
    companyCreated: company?.created ?? false,
    contactLinked: newlyLinkedContact,
    companyLinked: newlyLinkedCompany,
    ...(orphanSearchStopped ? { orphanSearchStopped } : {}),
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
        ...hints(fields),
        status: fields.status ?? options.statusOnCreate,
      }),
    async () => (await adoptOrphan(client, fields, options)).found,
  );
}

/** Items per page of a name search: the common case (a few matches) stays one request. */
const SEARCH_PAGE_SIZE = 100;

/**
 * The most opportunities a name search reads (10 pages). Salescaling's `name` filter is a partial
 * match with no exact variant, and the name comes from outside: a short one ("a") could match the
 * whole CRM, and every page costs a request of the shared budget. At the bound the search stops as
 * if nothing were found, and the result says so (`orphanSearchStopped`).
 */
export const ORPHAN_SEARCH_MAX_MATCHES = 1_000;

/** The first item that passes `test` among at most `ORPHAN_SEARCH_MAX_MATCHES`; `complete` false at the bound. */
async function firstMatch<T>(
  items: AsyncIterable<T>,
  test: (item: T) => boolean | Promise<boolean>,
): Promise<{ found: T | undefined; complete: boolean }> {
  let read = 0;
  for await (const item of items) {
    if (await test(item)) return { found: item, complete: true };
    read += 1;
    // Leaving the loop ends the generator: no further page is requested.
    if (read >= ORPHAN_SEARCH_MAX_MATCHES) return { found: undefined, complete: false };
  }
  return { found: undefined, complete: true };
}

/**
 * What a run that crashed before linking left: an opportunity this same input would have created,
 * with no contact. Anything less strict lets a stranger take over someone else's contact-less deal
 * by naming it (the contact is linked on adoption, and `fill-empty` would fill its gaps). Reads
 * every page of the name search, up to `ORPHAN_SEARCH_MAX_MATCHES`.
 */
async function adoptOrphan(
  client: SalescalingClient,
  fields: UpsertInput['opportunity'],
  options: UpsertOptions,
): Promise<{ found: Opportunity | undefined; complete: boolean }> {
  return firstMatch(
    client.iterateOpportunities({ name: fields.name }, { pageSize: SEARCH_PAGE_SIZE }),
    async (candidate) =>
      isOwnOrphan(candidate, fields, options) &&
      (await client.listOpportunityContacts(candidate.id, { limit: 1 })).items.length === 0,
  );
}

/**
 * Exactly what `createOpportunity` writes for these fields: the name as given, the status written on
 * creation, each hint equal to the input's or, when the input has none, empty; and not created
 * before the input arrived (less `ORPHAN_CLOCK_SKEW_MS`), when that is known.
 */
export function isOwnOrphan(
  candidate: Opportunity,
  fields: UpsertInput['opportunity'],
  options: Pick<UpsertOptions, 'statusOnCreate' | 'arrivedAt'>,
): boolean {
  if (candidate.name?.trim() !== fields.name.trim()) return false;
  if (candidate.status !== (fields.status ?? options.statusOnCreate)) return false;
  const wanted = hints(fields);
  for (const field of HINT_FIELDS) {
    if (field === 'status') continue;
    const given = wanted[field] as string | number | null | undefined;
    const held = candidate[field];
    if (given === undefined || given === null) {
      if (ORPHAN_EMPTY_UNLESS_GIVEN.includes(field) && !isEmpty(held)) return false;
    } else if (isEmpty(held) || !sameValue(field, held, given)) return false;
  }
  if (options.arrivedAt) {
    const created = Date.parse(String(candidate.createdAt));
    if (Number.isNaN(created) || created < options.arrivedAt.getTime() - ORPHAN_CLOCK_SKEW_MS) return false;
  }
  return true;
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

/** The fields given (text non-empty; a number of 0 is a value). */
function hints(fields: UpsertInput['opportunity']): Partial<OpportunityInput> {
  const given: Partial<Record<HintField, string | number>> = {};
  for (const field of HINT_FIELDS) {
    const value = fields[field];
    if (value !== undefined && value !== null && value !== '') given[field] = value;
  }
  // Each value has its field's type: UpsertInput['opportunity'] declares them as the write schema does.
  return given as Partial<OpportunityInput>;
}

/** Whether Salescaling's value is the given one (dates compared as instants). */
function sameValue(field: HintField, held: unknown, given: string | number): boolean {
  return field === 'closeDate' ? sameInstant(String(held), String(given)) : held === given;
}

/**
 * The given fields that differ from what Salescaling holds (`changes`, the only ones written); in
 * `fill-empty` mode only those it holds none of, the others listed in `unchanged`.
 */
export function changedFields(
  current: Opportunity,
  fields: UpsertInput['opportunity'],
  mode: UpsertOptions['existing'],
): { changes: Partial<OpportunityInput>; unchanged: string[] } {
  const differing: Partial<Record<HintField, string | number>> = {};
  for (const [field, value] of Object.entries(hints(fields)) as Array<[HintField, string | number]>) {
    if (isEmpty(current[field]) || !sameValue(field, current[field], value)) differing[field] = value;
  }
  if (mode === 'overwrite') return { changes: differing as Partial<OpportunityInput>, unchanged: [] };
  const changes: Partial<Record<HintField, string | number>> = {};
  const unchanged: string[] = [];
  for (const [field, value] of Object.entries(differing) as Array<[HintField, string | number]>) {
    if (isEmpty(current[field])) changes[field] = value;
    else unchanged.push(field);
  }
  return { changes: changes as Partial<OpportunityInput>, unchanged };
}

/** Nothing held: null, absent, or blank text (an amount of 0 is a value). */
function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
}

function sameInstant(held: string | null | undefined, given: string): boolean {
  const time = Date.parse(String(held));
  return !Number.isNaN(time) && time === Date.parse(given);
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
