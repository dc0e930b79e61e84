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
  // The other writable opportunity fields: only by an explicit mapping, never guessed from a label
  // (they change how the team reads a deal); a value that does not parse is dropped.
  'finalAmount',
  'risk',
  'priority',
  'featuredNotes',
  'nextStep',
  // Salescaling's closeDate, the actual close date (CLOSE_DATE_MEANS): not a form's wished-for date.
  'actualCloseDate',
  'closeProbability',
  // `open`, `won` or `lost` (any case), written as the stage's status of that name.
  'status',
] as const;
/** The lead fields filled only by an explicit mapping (no alias, no field kind). */
export const mappedOnlyLeadFields: readonly LeadField[] = [
  'finalAmount',
  'risk',
  'priority',
  'featuredNotes',
  'nextStep',
  'actualCloseDate',
  'closeProbability',
  'status',
];
export type LeadField = (typeof leadFields)[number];

export const fieldMappingSchema = z.partialRecord(
  z.enum(leadProviders),
  z.record(z.string().min(1), z.partialRecord(z.enum(leadFields), z.string().min(1))),
);
export type FieldMapping = z.output<typeof fieldMappingSchema>;
