import * as z from 'zod';
import { DEFAULT_OPPORTUNITY_STATUSES, type OpportunityStatuses } from '#shared/salescaling/assumptions.ts';

/**
 * The writable opportunity fields of the Salescaling reference as the product's inputs take them
 * (the `Upsert Opportunity` command, and a lead's mapped form fields), each bounded. One place, so
 * the command, the lead and the upsert agree on every type and bound:
 *
 * - `amount`, `finalAmount`: documented numbers; finite and not negative.
 * - `closeProbability`: documented "(0-100)".
 * - `closeDate`: a date-time (the reference's ISO-8601 form); CLOSE_DATE_MEANS says what it means.
 * - `risk`, `priority`: the reference lists "possible values" without publishing them, and the
 *   client reads any string, so any trimmed text up to 100 characters (an enum we guessed would
 *   refuse an account's real values).
 * - `status`: one of the stage's three statuses by role (`open` | `won` | `lost`), written as the
 *   stage names it (`salescaling.opportunityStatuses`): the account's status names are not
 *   published (Q2), and an integration should not need to know them.
 * - `description`, `featuredNotes`, `nextStep`: text, bounded.
 */
export const OPPORTUNITY_FIELD_LIMITS = {
  name: 255,
  description: 5000,
  featuredNotes: 5000,
  nextStep: 255,
  risk: 100,
  priority: 100,
} as const;

/** The roles are the keys of the stage's statuses setting (not status names: those are the values). */
export type StatusRole = keyof OpportunityStatuses;
export const statusRoles = Object.keys(DEFAULT_OPPORTUNITY_STATUSES) as [StatusRole, ...StatusRole[]];

const text = (max: number) => z.string().trim().min(1, { error: 'must not be empty' }).max(max);
const money = z.number().finite().min(0);

/** Every writable field but the name, as inputs give them (all optional). */
export const opportunityHintsShape = {
  amount: money.optional(),
  finalAmount: money.optional(),
  risk: text(OPPORTUNITY_FIELD_LIMITS.risk).optional(),
  priority: text(OPPORTUNITY_FIELD_LIMITS.priority).optional(),
  description: text(OPPORTUNITY_FIELD_LIMITS.description).optional(),
  featuredNotes: text(OPPORTUNITY_FIELD_LIMITS.featuredNotes).optional(),
  nextStep: text(OPPORTUNITY_FIELD_LIMITS.nextStep).optional(),
  closeDate: z.iso.datetime({ offset: true }).optional(),
  closeProbability: z.number().min(0).max(100).optional(),
  status: z.enum(statusRoles).optional(),
};

/** The opportunity of an `Upsert Opportunity` command: a name and any other writable field. */
export const opportunityFieldsSchema = z
  .object({ name: text(OPPORTUNITY_FIELD_LIMITS.name), ...opportunityHintsShape })
  .strict();
export type OpportunityFields = z.output<typeof opportunityFieldsSchema>;

/** The status a role stands for on this stage. */
export function statusOf(role: StatusRole, statuses: OpportunityStatuses): string {
  return statuses[role];
}
