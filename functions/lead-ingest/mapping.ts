// The list itself, imported as JSON so the bundler inlines it (the package's entry point reads it
// with createRequire at run time, which a bundle cannot follow).
import freeMailDomains from 'email-providers/all.json' with { type: 'json' };
import { RequestError } from '#shared/errors.ts';
import { type FieldMapping, type LeadField, leadFields } from '#shared/leads/field-mapping.ts';
import { type Lead, type LeadInput, leadSchema, type RawFieldValue } from '#shared/leads/lead.ts';
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
  closeDate: ['closedate', 'deadline', 'targetdate', 'startdate'],
};

const FREE_MAIL = new Set<string>(freeMailDomains);
const normalize = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');

export interface MapOptions {
  mapping: FieldMapping;
  /** A field name that is never forwarded (the HTML honeypot). */
  omit?: string | undefined;
  submissionIdFallback: string;
  receivedAt: Date;
}

export function toLead(submission: Submission, options: MapOptions): Lead {
  const entries = submission.entries.filter((e) => e.key !== options.omit);
  const chosen = chooseFields(submission, entries, options.mapping);
  const text = (field: LeadField) => asText(chosen.get(field)?.value);

  let firstName = text('firstName');
  let lastName = text('lastName');
  const fullName = text('fullName');
  if (fullName && !firstName && !lastName) {
    const [first, ...rest] = fullName.split(/\s+/);
    firstName = first;
    lastName = rest.length > 0 ? rest.join(' ') : undefined;
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
      closeDate: asDateTime(asText(chosen.get('closeDate')?.value)),
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
  const configured = {
    ...(forms['*'] ?? {}),
    ...(submission.formId ? forms[submission.formId] : {}),
    ...(submission.formName ? forms[submission.formName] : {}),
  };
  for (const [field, name] of Object.entries(configured) as [LeadField, string][]) {
    take(
      field,
      entries.find((e) => e.ref === name || e.key === name || e.label === name),
    );
  }
  for (const entry of entries) {
    const field = entry.kind ? KIND_DEFAULTS[entry.kind] : undefined;
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

/** "$50,000", "50k", "1.5M", 1200 → a number; anything else is left to the raw fields. */
export function asAmount(value: RawFieldValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const text = asText(value);
  if (!text) return undefined;
  const match = /^[^\d-]{0,4}(\d{1,3}(?:[,\s]\d{3})+|\d+)(?:\.(\d+))?\s*([kKmM])?\s*[^\d]{0,4}$/.exec(text);
  if (!match) return undefined;
  const whole = Number(`${(match[1] ?? '').replace(/[,\s]/g, '')}.${match[2] ?? '0'}`);
  const factor = match[3]?.toLowerCase() === 'k' ? 1_000 : match[3]?.toLowerCase() === 'm' ? 1_000_000 : 1;
  return Number.isFinite(whole) ? whole * factor : undefined;
}

/** "https://www.Acme.com/about" → "acme.com"; not a domain → undefined. */
export function asDomain(value: RawFieldValue | undefined): string | undefined {
  const text = asText(value)?.toLowerCase();
  if (!text) return undefined;
  const host = text
    .replace(/^[a-z]+:\/\//, '')
    .replace(/[/?#].*$/, '')
    .replace(/:\d+$/, '')
    .replace(/^www\./, '');
  return /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(host) ? host : undefined;
}

/** The company's domain from a work email; none for free-mail addresses (gmail.com and 8,000 more). */
export function companyDomainFromEmail(email: string | undefined): string | undefined {
  const domain = email?.split('@')[1]?.trim().toLowerCase();
  if (!domain || FREE_MAIL.has(domain)) return undefined;
  return asDomain(domain);
}

function asDateTime(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function rawFields(entries: FieldEntry[]): Record<string, RawFieldValue> {
  const fields: Record<string, RawFieldValue> = {};
  for (const entry of entries) {
    let name = entry.label ?? entry.key;
    if (name in fields) name = `${name} (${entry.key})`;
    fields[name] = entry.value;
  }
  return fields;
}

function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
