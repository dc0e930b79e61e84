import * as z from 'zod';
import { lazy } from '#shared/lazy.ts';
import { OPPORTUNITY_FIELD_LIMITS, statusRoles } from '#shared/opportunities/fields.ts';

/**
 * The one lead model every provider's payload maps to, and the detail of the `Lead Received` event.
 * Only `contact.email` is required; everything else is a hint the lead sync may use. Every field is
 * bounded (`LEAD_LIMITS`), and every length is checked before any pattern runs on the text.
 */
export const leadProviders = ['form', 'typeform', 'webflow', 'tally', 'standard-webhooks'] as const;
export type LeadProvider = (typeof leadProviders)[number];

/** The bounds of a lead, in characters unless said otherwise (shared with the ingest's early checks). */
export const LEAD_LIMITS = {
  submissionId: 300,
  /** RFC 5321's limit on a forward path. */
  email: 254,
  name: 100,
  phone: 50,
  jobTitle: 200,
  formId: 200,
  formName: 300,
  companyName: 200,
  /** RFC 1035. */
  domain: 253,
  opportunityName: 255,
  description: 5000,
  /** Submitted fields per lead. */
  fields: 100,
  /** Long enough for a conversational question used as a label. */
  fieldKey: 1000,
  fieldValue: 5000,
  arrayItems: 100,
  arrayItem: 1000,
  /**
   * All field names and values together, as expanded (Tally option ids become their texts): what
   * could never fit in one event (below) is refused while it is being built.
   */
  expandedChars: 240 * 1024,
  /** EventBridge refuses an entry over 256 KB; this leaves room for what it adds to the count. */
  eventBytes: 240 * 1024,
} as const;

const text = (max: number) => z.string().trim().min(1).max(max).optional();

// No lookahead and no ambiguous repetition; the length is checked first and stops the checks.
const DOMAIN_PATTERN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** A domain name, lower-cased (shared with the event catalog's commands). */
export const domainSchema = z
  .string()
  .trim()
  .max(LEAD_LIMITS.domain, { abort: true })
  .toLowerCase()
  .regex(DOMAIN_PATTERN, { error: 'must be a domain name' });

const rawValue = lazy(() =>
  z.union([
    z.string().max(LEAD_LIMITS.fieldValue),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(z.string().max(LEAD_LIMITS.arrayItem)).max(LEAD_LIMITS.arrayItems),
  ]),
);
export type RawFieldValue = z.infer<ReturnType<typeof rawValue>>;
const fieldKey = lazy(() => z.string().min(1).max(LEAD_LIMITS.fieldKey));

/**
 * Every submitted field as sent. Not `z.record`: it copies into a plain object, where a key named
 * `__proto__` sets the prototype instead of a field and is lost. Keys are data, so the object is
 * checked entry by entry and kept as it came (own properties only, whatever they are named).
 */
const fieldsSchema = () =>
  z
    .custom<Record<string, RawFieldValue>>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        [Object.prototype, null].includes(Object.getPrototypeOf(value)),
      { error: 'must be an object of fields' },
    )
    .superRefine((fields, ctx) => {
      const entries = Object.entries(fields);
      if (entries.length > LEAD_LIMITS.fields) {
        ctx.addIssue({ code: 'custom', message: `at most ${LEAD_LIMITS.fields} fields`, input: fields });
        return;
      }
      for (const [key, value] of entries) {
        for (const issue of [
          ...(fieldKey().safeParse(key).error?.issues ?? []),
          ...(rawValue().safeParse(value).error?.issues ?? []),
        ]) {
          ctx.addIssue({ code: 'custom', message: issue.message, path: [key, ...issue.path], input: value });
        }
      }
    })
    .meta(jsonSchemaOfFields());

/** The documented shape of `fields` (its JSON Schema), checked entry by entry above. */
function jsonSchemaOfFields(): Record<string, unknown> {
  const fieldsShape = z.record(fieldKey(), rawValue()).check(z.maxSize(LEAD_LIMITS.fields));
  const { $schema: _, ...schema } = z.toJSONSchema(fieldsShape, { target: 'draft-4', io: 'input' });
  return schema;
}

/** Built on first use (zod's own `lazy`): a function that never handles a lead never builds it. */
export const leadSchema = z.lazy(() =>
  z.object({
    schemaVersion: z.literal(1),
    /** The provider's event or submission id; else `sha256:<hex>` of the raw body. */
    submissionId: z.string().min(1).max(LEAD_LIMITS.submissionId),
    source: z.object({
      provider: z.enum(leadProviders),
      formId: text(LEAD_LIMITS.formId),
      formName: text(LEAD_LIMITS.formName),
    }),
    submittedAt: z.iso.datetime({ offset: true }),
    receivedAt: z.iso.datetime(),
    contact: z.object({
      email: z
        .string()
        .trim()
        .max(LEAD_LIMITS.email, { abort: true })
        .toLowerCase()
        .pipe(z.email({ error: 'must be an email address' })),
      firstName: text(LEAD_LIMITS.name),
      lastName: text(LEAD_LIMITS.name),
      phone: text(LEAD_LIMITS.phone),
      jobTitle: text(LEAD_LIMITS.jobTitle),
    }),
    company: z.object({
      name: text(LEAD_LIMITS.companyName),
      domain: domainSchema.optional(),
    }),
    opportunity: z.object({
      name: text(LEAD_LIMITS.opportunityName),
      amount: z.number().finite().min(0).optional(),
      description: text(LEAD_LIMITS.description),
      /**
       * A date the form asked for (deadline, target or start date). Never Salescaling's `closeDate`,
       * which is the actual close date (CLOSE_DATE_MEANS in shared/salescaling/assumptions.ts): lead
       * sync writes it into the description.
       */
      targetDate: z.iso.datetime({ offset: true }).optional(),
      /** Deprecated, no longer published: read as `targetDate` (events archived before the change). */
      closeDate: z.iso.datetime({ offset: true }).optional(),
      // Mapped explicitly (leads.fieldMapping); bounds as for the Upsert Opportunity command.
      finalAmount: z.number().finite().min(0).optional(),
      risk: text(OPPORTUNITY_FIELD_LIMITS.risk),
      priority: text(OPPORTUNITY_FIELD_LIMITS.priority),
      featuredNotes: text(OPPORTUNITY_FIELD_LIMITS.featuredNotes),
      nextStep: text(OPPORTUNITY_FIELD_LIMITS.nextStep),
      /** Written to Salescaling's `closeDate` (the actual close date), unlike `targetDate`. */
      actualCloseDate: z.iso.datetime({ offset: true }).optional(),
      closeProbability: z.number().min(0).max(100).optional(),
      /** A status by role, written as the stage's status of that name. */
      status: z.enum(statusRoles).optional(),
    }),
    /** Every submitted field as sent (label or key → value), for audit and custom mapping. */
    fields: fieldsSchema(),
  }),
);

export type Lead = z.output<typeof leadSchema>;
export type LeadInput = z.input<typeof leadSchema>;
