import * as z from 'zod';
import { leadProviders } from './lead.ts';

/**
 * Which submitted field fills which lead field, per provider and form (form id or name, or `*`
 * for every form): Typeform field refs, Webflow labels, Tally keys or labels, HTML field names.
 * Per stage in cdk.json (`leads.fieldMapping`), or LEAD_FIELD_MAPPING locally.
 */
export const leadFields = [
  'email',
  'firstName',
  'lastName',
  'fullName',
  'phone',
  'jobTitle',
  'companyName',
  'companyDomain',
  'opportunityName',
  'amount',
  'description',
  // A date the form asks for: it goes into the description, never into Salescaling's closeDate.
  'targetDate',
] as const;
export type LeadField = (typeof leadFields)[number];

export const fieldMappingSchema = z.partialRecord(
  z.enum(leadProviders),
  z.record(z.string().min(1), z.partialRecord(z.enum(leadFields), z.string().min(1))),
);
export type FieldMapping = z.output<typeof fieldMappingSchema>;
