import * as z from 'zod';

/**
 * The one lead model every provider's payload maps to, and the detail of the `Lead Received` event.
 * Only `contact.email` is required; everything else is a hint the lead sync may use.
 */
export const leadProviders = ['form', 'typeform', 'webflow', 'tally', 'standard-webhooks'] as const;
export type LeadProvider = (typeof leadProviders)[number];

const text = (max: number) => z.string().trim().min(1).max(max).optional();
/** A domain name, lower-cased (shared with the event catalog's commands). */
export const domainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
    error: 'must be a domain name',
  });
const rawValue = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]);

export const leadSchema = z.object({
  schemaVersion: z.literal(1),
  /** The provider's event or submission id; else `sha256:<hex>` of the raw body. */
  submissionId: z.string().min(1).max(300),
  source: z.object({
    provider: z.enum(leadProviders),
    formId: text(200),
    formName: text(300),
  }),
  submittedAt: z.iso.datetime({ offset: true }),
  receivedAt: z.iso.datetime(),
  contact: z.object({
    email: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.email({ error: 'must be an email address' })),
    firstName: text(100),
    lastName: text(100),
    phone: text(50),
    jobTitle: text(200),
  }),
  company: z.object({
    name: text(200),
    domain: domainSchema.optional(),
  }),
  opportunity: z.object({
    name: text(255),
    amount: z.number().finite().min(0).optional(),
    description: text(5000),
    closeDate: z.iso.datetime({ offset: true }).optional(),
  }),
  /** Every submitted field as sent (label or key → value), for audit and custom mapping. */
  fields: z.record(z.string(), rawValue),
});

export type Lead = z.output<typeof leadSchema>;
export type LeadInput = z.input<typeof leadSchema>;
export type RawFieldValue = z.infer<typeof rawValue>;
