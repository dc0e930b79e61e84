// The list itself, imported as JSON so the bundler inlines it (the package's entry point reads it
// with createRequire at run time, which a bundle cannot follow).
import freeMailDomains from 'email-providers/all.json' with { type: 'json' };
import { RequestError } from '#shared/errors.ts';
import { type FieldMapping, type LeadField, leadFields } from '#shared/leads/field-mapping.ts';
import {
  domainSchema,
  LEAD_LIMITS,
  type Lead,
  type LeadInput,
  leadSchema,
  type RawFieldValue,
} from '#shared/leads/lead.ts';
import { OPPORTUNITY_FIELD_LIMITS, type StatusRole, statusRoles } from '#shared/opportunities/fields.ts';
import { fieldIssues } from '#shared/salescaling/schemas.ts';
import type { FieldEntry, Submission } from './providers.ts';

/**
 * From a provider's fields to the canonical Lead. For each lead field, the first that applies:
 * 1. the configured mapping for this provider and form (`LEAD_FIELD_MAPPING`): Typeform field refs,
 *    Webflow labels, Tally keys or labels, form field names; `*` applies to every form;
 * 2. the field's type (an email field, a phone field, a URL field for the company's website);
 * 3. the field's label or key, compared loosely ("Work email", "work_email" and "workEmail" agree).
 */
export type { FieldMapping };

const KIND_DEFAULTS: Partial<Record<NonNullable<FieldEntry['kind']>, LeadField>> = {
  email: 'email',
  phone: 'phone',
  url: 'companyDomain',
};

const ALIASES: Record<LeadField, string[]> = {
  email: ['email', 'emailaddress', 'workemail', 'businessemail', 'youremail', 'mail', 'whatsyouremail'],
  firstName: ['firstname', 'givenname', 'first', 'fname', 'forename'],
  lastName: ['lastname', 'surname', 'familyname', 'last', 'lname'],
  fullName: ['name', 'fullname', 'yourname', 'contactname', 'whatsyourname', 'yourfullname'],
  phone: ['phone', 'phonenumber', 'telephone', 'tel', 'mobile', 'mobilephone'],
  jobTitle: ['jobtitle', 'title', 'role', 'position', 'yourrole'],
  companyName: [
    'company',
    'companyname',
    'organization',
    'organisation',
    'business',
    'employer',
    'yourcompany',
  ],
  companyDomain: ['website', 'companywebsite', 'domain', 'companydomain', 'url', 'companyurl', 'websiteurl'],
  opportunityName: ['opportunity', 'opportunityname', 'dealname', 'deal', 'project', 'subject'],
  amount: ['amount', 'budget', 'dealvalue', 'value', 'estimatedbudget'],
  description: [
    'message',
    'description',
    'comments',
    'comment',
    'details',
    'notes',
    'howcanwehelp',
    'howcanwehelpyou',
    'tellusmore',
    'anythingelse',
    'additionalinformation',
  ],
  // A form's "close date" is a wish, not the actual close date Salescaling's closeDate holds.
  targetDate: ['targetdate', 'deadline', 'closedate', 'expectedclosedate', 'startdate', 'duedate'],
  // Never guessed (mappedOnlyLeadFields): a configured mapping only.
  finalAmount: [],
  risk: [],
  priority: [],
  featuredNotes: [],
  nextStep: [],
  actualCloseDate: [],
  closeProbability: [],
  status: [],
};

const FREE_MAIL = new Set<string>(freeMailDomains);
const normalize = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');

export interface MapOptions {
  mapping: FieldMapping;
  /** A field name that is never forwarded (the HTML honeypot). */
  omit?: string | undefined;
  submissionIdFallback: string;
  receivedAt: Date;
  /** Collects the mapped fields whose value did not parse and was dropped (their names, never values). */
  dropped?: LeadField[] | undefined;
}

export function toLead(submission: Submission, options: MapOptions): Lead {
  const entries = submission.entries.filter((e) => e.key !== options.omit);
  const chosen = chooseFields(submission, entries, options.mapping);
  const text = (field: LeadField) => asText(chosen.get(field)?.value);
  /** A mapped field's value as `parse` reads it; one that is there but does not parse is dropped, and named. */
  const parsed = <T>(field: LeadField, parse: (value: RawFieldValue | undefined) => T | undefined) => {
    const entry = chosen.get(field);
    if (!entry) return undefined;
    const value = parse(entry.value);
    if (value === undefined) options.dropped?.push(field);
    return value;
  };

  let firstName = text('firstName');
  let lastName = text('lastName');
  const fullName = text('fullName');
  if (fullName && !firstName && !lastName) {
    // Split at the first run of whitespace (`\s+` is linear: one run, no alternatives).
    const space = /\s+/.exec(fullName);
    firstName = space ? fullName.slice(0, space.index) : fullName;
    lastName = space ? fullName.slice(space.index + space[0].length) || undefined : undefined;
  }
  const email = text('email');
  const domain = asDomain(chosen.get('companyDomain')?.value) ?? companyDomainFromEmail(email);

  const input: LeadInput = {
    schemaVersion: 1,
    submissionId: submission.submissionId ?? options.submissionIdFallback,
    source: { provider: submission.provider, formId: submission.formId, formName: submission.formName },
    submittedAt: asDateTime(submission.submittedAt) ?? options.receivedAt.toISOString(),
    receivedAt: options.receivedAt.toISOString(),
    contact: { email: email ?? '', firstName, lastName, phone: text('phone'), jobTitle: text('jobTitle') },
    company: { name: text('companyName'), domain },
    opportunity: {
      name: text('opportunityName'),
      amount: asAmount(chosen.get('amount')?.value),
      description: text('description'),
      targetDate: asDateTime(asText(chosen.get('targetDate')?.value)),
      finalAmount: parsed('finalAmount', asAmount),
      risk: parsed('risk', boundedText(OPPORTUNITY_FIELD_LIMITS.risk)),
      priority: parsed('priority', boundedText(OPPORTUNITY_FIELD_LIMITS.priority)),
      featuredNotes: parsed('featuredNotes', boundedText(OPPORTUNITY_FIELD_LIMITS.featuredNotes)),
      nextStep: parsed('nextStep', boundedText(OPPORTUNITY_FIELD_LIMITS.nextStep)),
      actualCloseDate: parsed('actualCloseDate', (value) => asDateTime(asText(value))),
      closeProbability: parsed('closeProbability', asPercentage),
      status: parsed('status', asStatusRole),
    },
    fields: rawFields(entries),
  };
  const result = leadSchema.safeParse(stripUndefined(input));
  if (!result.success) throw new RequestError(400, 'Invalid lead', { fields: fieldIssues(result.error) });
  return result.data;
}

function chooseFields(
  submission: Submission,
  entries: FieldEntry[],
  mapping: FieldMapping,
): Map<LeadField, FieldEntry> {
  const chosen = new Map<LeadField, FieldEntry>();
  const used = new Set<FieldEntry>();
  const take = (field: LeadField, entry: FieldEntry | undefined) => {
    if (!entry || chosen.has(field) || used.has(entry) || isEmpty(entry.value)) return;
    chosen.set(field, entry);
    used.add(entry);
  };
  const forms = mapping[submission.provider] ?? {};
  // Own keys only: a form named `constructor` or `__proto__` must not reach Object.prototype.
  const form = (name: string | undefined) =>
    name !== undefined && Object.hasOwn(forms, name) ? forms[name] : {};
  const configured = { ...form('*'), ...form(submission.formId), ...form(submission.formName) };
  for (const [field, name] of Object.entries(configured) as [LeadField, string][]) {
    take(
      field,
      entries.find((e) => e.ref === name || e.key === name || e.label === name),
    );
  }
  for (const entry of entries) {
    const field =
      entry.kind && Object.hasOwn(KIND_DEFAULTS, entry.kind) ? KIND_DEFAULTS[entry.kind] : undefined;
    if (field) take(field, entry);
  }
  const names = (e: FieldEntry) => [normalize(e.label ?? ''), normalize(e.key)];
  // Exact names first, for every field, so "Company website" goes to the domain, not the name.
  for (const field of leadFields) {
    take(
      field,
      entries.find((e) => names(e).some((name) => ALIASES[field].includes(name))),
    );
  }
  // Then conversational labels ("What's your first name?"): a distinctive alias inside the label.
  for (const field of leadFields) {
    const aliases = ALIASES[field].filter((alias) => alias.length >= 5);
    take(
      field,
      entries.find((e) => !used.has(e) && names(e).some((name) => aliases.some((a) => name.includes(a)))),
    );
  }
  return chosen;
}

function isEmpty(value: RawFieldValue): boolean {
  return value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

function asText(value: RawFieldValue | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : String(value);
  return text.trim() === '' ? undefined : text.trim();
}

/**
 * The longest text read as an amount ("USD 1,250,000.00 k" is 18): anything longer is no amount,
 * and no pattern ever runs on it.
 */
const MAX_AMOUNT_LENGTH = 40;
// Unambiguous: the optional unit owns the whitespace before it, so no two `\s*` compete for a run of
// spaces (the old pattern was quadratic on "1" followed by spaces and letters).
const AMOUNT_PATTERN = /^[^\d-]{0,4}(\d{1,3}(?:[,\s]\d{3})+|\d+)(?:\.(\d+))?(?:\s*([kKmM]))?[^\d]{0,4}$/;

/** "$50,000", "50k", "1.5M", 1200 → a number; anything else is left to the raw fields. */
export function asAmount(value: RawFieldValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const text = asText(value);
  if (!text || text.length > MAX_AMOUNT_LENGTH) return undefined;
  const match = AMOUNT_PATTERN.exec(text);
  if (!match) return undefined;
  const whole = Number(`${(match[1] ?? '').replace(/[,\s]/g, '')}.${match[2] ?? '0'}`);
  const factor = match[3]?.toLowerCase() === 'k' ? 1_000 : match[3]?.toLowerCase() === 'm' ? 1_000_000 : 1;
  return Number.isFinite(whole) ? whole * factor : undefined;
}

/** Text up to `max` characters (after trimming); longer is dropped, not cut, so nothing is half-written. */
function boundedText(max: number) {
  return (value: RawFieldValue | undefined): string | undefined => {
    const text = asText(value);
    return text !== undefined && text.length <= max ? text : undefined;
  };
}

/** The longest text read as a percentage ("100.0000 %" is 10). */
const MAX_PERCENTAGE_LENGTH = 16;
// Anchored, no nested or adjacent repetition: one run of digits, an optional fraction, an optional %.
const PERCENTAGE_PATTERN = /^(\d{1,3})(?:\.(\d{1,6}))? ?%?$/;

/** "75", "75%", "12.5 %", 75 → a number from 0 to 100; anything else (or beyond 100) → undefined. */
export function asPercentage(value: RawFieldValue | undefined): number | undefined {
  let number: number;
  if (typeof value === 'number') number = value;
  else {
    const text = asText(value);
    if (!text || text.length > MAX_PERCENTAGE_LENGTH) return undefined;
    const match = PERCENTAGE_PATTERN.exec(text);
    if (!match) return undefined;
    number = Number(`${match[1]}.${match[2] ?? '0'}`);
  }
  return Number.isFinite(number) && number >= 0 && number <= 100 ? number : undefined;
}

/** "Won", " open " → the status role; anything else → undefined. Compared whole, no pattern. */
export function asStatusRole(value: RawFieldValue | undefined): StatusRole | undefined {
  const text = asText(value);
  if (!text || text.length > 10) return undefined;
  const role = text.toLowerCase();
  return (statusRoles as readonly string[]).includes(role) ? (role as StatusRole) : undefined;
}

/** The longest website text read for a domain (a URL with a path); longer is no domain. */
const MAX_URL_LENGTH = 2048;

/** "https://www.Acme.com/about" → "acme.com"; not a domain → undefined. Cut by index, not by pattern. */
export function asDomain(value: RawFieldValue | undefined): string | undefined {
  const text = asText(value)?.toLowerCase();
  if (!text || text.length > MAX_URL_LENGTH) return undefined;
  let host = text;
  const scheme = host.indexOf('://');
  if (scheme > 0 && /^[a-z]+$/.test(host.slice(0, scheme))) host = host.slice(scheme + 3);
  const end = host.search(/[/?#]/);
  if (end !== -1) host = host.slice(0, end);
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && /^\d+$/.test(host.slice(colon + 1))) host = host.slice(0, colon);
  if (host.startsWith('www.')) host = host.slice(4);
  return domainSchema.safeParse(host).data;
}

/** The company's domain from a work email; none for free-mail addresses (gmail.com and 8,000 more). */
export function companyDomainFromEmail(email: string | undefined): string | undefined {
  if (email === undefined || email.length > LEAD_LIMITS.email) return undefined; // no email is that long
  const domain = email?.split('@')[1]?.trim().toLowerCase();
  if (!domain || FREE_MAIL.has(domain)) return undefined;
  return asDomain(domain);
}

/** The longest text read as a date ("2026-11-28T09:16:31.000+01:00" is 29). */
const MAX_DATE_LENGTH = 64;

function asDateTime(value: string | undefined): string | undefined {
  if (!value || value.length > MAX_DATE_LENGTH) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/**
 * Every field as submitted, by label (else key). Null-prototype and own-key checks, so `toString`,
 * `constructor` or `__proto__` are names like any other (`in` would see Object.prototype's).
 */
function rawFields(entries: FieldEntry[]): Record<string, RawFieldValue> {
  const fields: Record<string, RawFieldValue> = Object.create(null);
  for (const entry of entries) {
    const label = entry.label ?? entry.key;
    let name = Object.hasOwn(fields, label) ? `${label} (${entry.key})` : label;
    // A sender may label another field "Budget (k2)" as well: never overwrite, number the next one.
    // (At most as many tries as there are fields, which are bounded.)
    for (let n = 2; Object.hasOwn(fields, name); n++) name = `${label} (${entry.key}) #${n}`;
    fields[name] = entry.value;
  }
  return fields;
}

/** Drops undefined members (JSON keeps a `__proto__` key as an own property both ways). */
function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
