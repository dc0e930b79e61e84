import * as z from 'zod';
import { MAX_LIST_LIMIT } from './assumptions.ts';

/**
 * zod schemas for Salescaling requests and responses. Most are built on first use (zod's `lazy`),
 * so a cold start builds only what its first event reads or writes.
 *
 * Reading is tolerant: every record schema is a loose object (extra fields kept), enum-like fields
 * (`status`, `risk`, `priority`) are any string, and everything but `id` may be missing or null,
 * because the reference documents examples, not guarantees.
 * Writing is strict about what it sends: write schemas are plain objects, so unknown keys are
 * stripped and only documented fields leave the process; values are validated before any request.
 */

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** Salescaling ids are UUIDs; `guid` accepts any 8-4-4-4-12 hex form (no version check). */
export const idSchema = z.guid({ error: 'must be a UUID' });

/** Numbers sometimes arrive as numeric strings from JSON APIs; read them as numbers. */
const readNumber = z.preprocess(
  (value) =>
    typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))
      ? Number(value)
      : value,
  z.number().nullish(),
);
const readString = z.string().nullish();

/** Writes dates the way the reference shows them: ISO-8601 UTC with milliseconds. */
const writeDateTime = z
  .union([z.date(), z.iso.datetime({ offset: true }), z.iso.date()], {
    error: 'must be an ISO-8601 date or date-time',
  })
  .transform((value) => new Date(value).toISOString());

const optionalText = z.string().nullable().optional();

export const pageQuerySchema = z.object({
  page: z.number().int().min(1).optional(),
  // Never beyond what Salescaling is assumed to honour: a silent cap would end every walk early.
  limit: z.number().int().min(1).max(MAX_LIST_LIMIT).optional(),
});

// ---------------------------------------------------------------------------------------------
// Envelope

/**
 * Every response is `{ statusCode, count, error, data }`. The documented success examples carry
 * `"error": "text"`, so `error` is only meaningful on a non-2xx answer. `count`, when sent, must be
 * a count (a whole number, not negative), as docs/salescaling-openapi.yaml says: an answer whose
 * count is not one is not the documented envelope (docs/salescaling-operations.md, "count").
 */
export const envelopeSchema = z.looseObject({
  statusCode: z.number().int().optional(),
  count: z.number().int().min(0).nullish(),
  error: z.string().nullish(),
  data: z.unknown(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

// ---------------------------------------------------------------------------------------------
// Opportunities

export const opportunitySchema = z.lazy(() =>
  z.looseObject({
    id: idSchema,
    name: readString,
    amount: readNumber,
    finalAmount: readNumber,
    risk: readString,
    priority: readString,
    description: readString,
    featuredNotes: readString,
    nextStep: readString,
    closeDate: readString,
    closeProbability: readNumber,
    status: readString,
    createdAt: readString,
    updatedAt: readString,
  }),
);
export type Opportunity = z.infer<typeof opportunitySchema>;

/** The fields a client may write; `PUT` may be a full replace, so updates send all of them. */
export const opportunityWritableFields = [
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

export const opportunityWriteSchema = z.object({
  name: z.string().trim().min(1, { error: 'must not be empty' }),
  amount: z.number().finite().nullable().optional(),
  finalAmount: z.number().finite().nullable().optional(),
  risk: z.string().min(1).nullable().optional(),
  priority: z.string().min(1).nullable().optional(),
  description: optionalText,
  featuredNotes: optionalText,
  nextStep: optionalText,
  closeDate: writeDateTime.nullable().optional(),
  closeProbability: z.number().min(0).max(100).nullable().optional(),
  status: z.string().min(1).nullable().optional(),
});
export type OpportunityInput = z.input<typeof opportunityWriteSchema>;
export type OpportunityWrite = z.output<typeof opportunityWriteSchema>;
/** A partial change for the safe update (read, merge, write). */
export type OpportunityChange = Partial<OpportunityInput>;

export const opportunityListQuerySchema = z.lazy(() =>
  pageQuerySchema.extend({
    name: z.string().min(1).optional(),
    contactId: idSchema.optional(),
  }),
);
export type OpportunityListQuery = z.input<typeof opportunityListQuerySchema>;

export const integrationsSchema = z.lazy(() =>
  z.looseObject({
    opportunityId: readString,
    integrations: z
      .array(
        z.looseObject({
          integrationType: readString,
          integrationName: readString,
          integrationId: readString,
        }),
      )
      .nullish()
      .transform((list) => list ?? []),
  }),
);
export type OpportunityIntegrations = z.infer<typeof integrationsSchema>;

export const opportunityContactSchema = z.lazy(() =>
  z.looseObject({
    contactId: idSchema,
    contactFirstName: readString,
    contactLastName: readString,
    contactEmail: readString,
    contactTitlePosition: readString,
  }),
);
export type OpportunityContact = z.infer<typeof opportunityContactSchema>;

export const opportunityCompanySchema = z.lazy(() =>
  z.looseObject({
    companyId: idSchema,
    companyName: readString,
    companyDomain: readString,
    isPrimary: z.boolean().nullish(),
  }),
);
export type OpportunityCompany = z.infer<typeof opportunityCompanySchema>;

export const linkContactSchema = z.object({ contactId: idSchema });
export const linkCompanySchema = z.object({ companyId: idSchema });

// ---------------------------------------------------------------------------------------------
// Contacts (documented in part)

/** Contact fields from the public documentation; `titlePosition` is the job title. */
export const contactWritableFields = [
  'firstName',
  'lastName',
  'salutation',
  'birthday',
  'email',
  'phone',
  'genderIdentity',
  'pronouns',
  'fax',
  'linkedinUrl',
  'address',
  'postalCode',
  'city',
  'state',
  'country',
  'currency',
  'language',
  'titlePosition',
  'assistant',
  'assistantPhone',
  'division',
  'department',
  'description',
  'leadSource',
  'leadRecordType',
  'reportsTo',
] as const;

const contactReadShape = () =>
  Object.fromEntries(contactWritableFields.map((field) => [field, readString])) as Record<
    (typeof contactWritableFields)[number],
    typeof readString
  >;

export const contactSchema = z.lazy(() =>
  z.looseObject({
    id: idSchema,
    ...contactReadShape(),
    createdAt: readString,
    updatedAt: readString,
  }),
);
export type Contact = z.infer<typeof contactSchema>;

/**
 * Every documented contact field is optional; we still refuse a contact with neither an email nor
 * a name, because nothing could ever find it again.
 */
export const contactWriteSchema = z.lazy(() =>
  z
    .object({
      firstName: optionalText,
      lastName: optionalText,
      salutation: optionalText,
      birthday: z.iso.date({ error: 'must be a date (YYYY-MM-DD)' }).nullable().optional(),
      email: z.email({ error: 'must be an email address' }).nullable().optional(),
      phone: optionalText,
      genderIdentity: optionalText,
      pronouns: optionalText,
      fax: optionalText,
      linkedinUrl: z.url({ error: 'must be a URL' }).nullable().optional(),
      address: optionalText,
      postalCode: optionalText,
      city: optionalText,
      state: optionalText,
      country: optionalText,
      currency: optionalText,
      language: optionalText,
      titlePosition: optionalText,
      assistant: optionalText,
      assistantPhone: optionalText,
      division: optionalText,
      department: optionalText,
      description: optionalText,
      leadSource: optionalText,
      leadRecordType: optionalText,
      reportsTo: optionalText,
    })
    .refine((contact) => Boolean(contact.email || contact.firstName || contact.lastName), {
      error: 'a contact needs an email, a first name or a last name',
      path: ['email'],
    }),
);
export type ContactInput = z.input<typeof contactWriteSchema>;

export const contactListQuerySchema = z.lazy(() =>
  pageQuerySchema.extend({
    email: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    opportunityId: idSchema.optional(),
    companyId: idSchema.optional(),
  }),
);
export type ContactListQuery = z.input<typeof contactListQuerySchema>;

// ---------------------------------------------------------------------------------------------
// Companies (assumed surface: not in the public reference, see operations.ts)

export const companySchema = z.lazy(() =>
  z.looseObject({
    id: idSchema,
    name: readString,
    domain: readString,
    createdAt: readString,
    updatedAt: readString,
  }),
);
export type Company = z.infer<typeof companySchema>;

const domainPattern = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

export const companyWriteSchema = z.lazy(() =>
  z.object({
    name: z.string().trim().min(1, { error: 'must not be empty' }),
    domain: z
      .string()
      .trim()
      .toLowerCase()
      .regex(domainPattern, { error: 'must be a domain name such as acme.com' })
      .nullable()
      .optional(),
  }),
);
export type CompanyInput = z.input<typeof companyWriteSchema>;

export const companyListQuerySchema = z.lazy(() =>
  pageQuerySchema.extend({
    name: z.string().min(1).optional(),
  }),
);
export type CompanyListQuery = z.input<typeof companyListQuerySchema>;

// ---------------------------------------------------------------------------------------------

/** Field-level problems of a failed parse: `[{ field: 'closeProbability', message: '...' }]`. */
export interface FieldIssue {
  field: string;
  message: string;
}

/**
 * What a list of issues may carry. Paths and messages echo the input (zod's "Unrecognized keys"
 * lists every key), and they go back out in answers, logs, dead letters and events: a hostile input
 * must not make them large, nor make the project repeat much of what it chose.
 */
export const FIELD_ISSUE_LIMITS = { issues: 20, field: 200, message: 300 } as const;

/** The text cut to `max` characters, marked with an ellipsis when cut. */
export function clipText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * At most FIELD_ISSUE_LIMITS.issues issues, each field and message clipped; when there were more,
 * the last entry (`field: '(more)'`) counts the rest.
 */
export function boundFieldIssues(issues: readonly FieldIssue[]): FieldIssue[] {
  return bounded(issues, (issue) => issue);
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return bounded(error.issues, (issue) => ({
    // Each segment is clipped before joining, so a path of huge keys costs no more than a short one.
    field:
      issue.path.length > 0
        ? issue.path
            .slice(0, FIELD_ISSUE_LIMITS.field)
            .map((segment) => clipText(String(segment), FIELD_ISSUE_LIMITS.field))
            .join('.')
        : '(body)',
    message: issue.message,
  }));
}

function bounded<T>(items: readonly T[], describe: (item: T) => FieldIssue): FieldIssue[] {
  const { issues: max, field, message } = FIELD_ISSUE_LIMITS;
  const kept = items.length > max ? items.slice(0, max - 1) : items;
  const issues = kept.map((item) => {
    const issue = describe(item);
    return { field: clipText(String(issue.field), field), message: clipText(String(issue.message), message) };
  });
  if (items.length > kept.length) {
    issues.push({ field: '(more)', message: `${items.length - kept.length} more issues not listed` });
  }
  return issues;
}

export function describeFieldIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
}
