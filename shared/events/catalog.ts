import * as z from 'zod';
import { lazy } from '#shared/lazy.ts';
import { domainSchema, leadSchema } from '#shared/leads/lead.ts';
import { opportunityFieldsSchema } from '#shared/opportunities/fields.ts';
import { idSchema } from '#shared/salescaling/schemas.ts';

/**
 * Every event of the product, defined once: its detail-type, direction, schema version, zod schema,
 * description and an example. Producers publish through `publishEvent` (which validates against the
 * schema and stamps the version) and consumers parse with the same schemas; the JSON Schemas in the
 * stack's registry and `docs/events.md` are generated from here (`npm run docs:events`).
 *
 * Inbound events are commands any system may put on the bus (any `source` but ours); outbound events
 * are what the product publishes, always with `source: salescaling.automation`.
 */
export const EVENT_SOURCE = 'salescaling.automation';

export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  detailType: string;
  direction: 'inbound' | 'outbound';
  version: number;
  description: string;
  /** Who publishes it (outbound) or consumes it (inbound). */
  by: string;
  schema: S;
  example: z.input<S>;
  /**
   * A command that destroys what it acts on. An integration whose `detailTypes` is left out gets
   * every command but these: it may send one only by naming it (docs/bus-trust.md).
   */
  destructive?: true;
}

/**
 * An event whose schema is built the first time it is used (its `schema` is a getter): a function
 * builds only the schemas of the events it publishes or consumes, not all of them at cold start.
 */
const define = <S extends z.ZodType>({
  schema,
  ...definition
}: Omit<EventDefinition<S>, 'schema'> & { schema: () => S }): EventDefinition<S> => {
  const built = lazy(schema);
  return {
    ...definition,
    get schema() {
      return built();
    },
  };
};
/** Every detail carries its schema version, so consumers can tell versions apart. */
const versioned = <T extends z.ZodRawShape>(version: number, shape: T) =>
  z.object({ schemaVersion: z.literal(version), ...shape }).strict();

const ID = '5516cd47-2bd0-4f4f-adc2-22524e54ba4d';
const ID2 = '0f0c6a3e-8f0e-4d6b-9f5e-2a1d3c4b5e6f';
const text = (max: number) => z.string().trim().min(1).max(max);

// ---------------------------------------------------------------------------------------------
// Inbound commands

export const contactRefSchema = lazy(() =>
  z.union([
    z.object({ id: idSchema }).strict(),
    z
      .object({
        email: z
          .string()
          .trim()
          .toLowerCase()
          .pipe(z.email({ error: 'must be an email address' })),
        firstName: text(100).optional(),
        lastName: text(100).optional(),
        phone: text(50).optional(),
        jobTitle: text(200).optional(),
      })
      .strict(),
  ]),
);
export const companyRefSchema = lazy(() =>
  z.union([
    z.object({ id: idSchema }).strict(),
    z
      .object({ domain: domainSchema.optional(), name: text(200).optional() })
      .strict()
      .refine((c) => Boolean(c.domain || c.name), { error: 'a company needs an id, a domain or a name' }),
  ]),
);
const upsertOpportunity = define({
  detailType: 'Upsert Opportunity',
  direction: 'inbound',
  version: 1,
  by: 'integration-commands',
  description:
    "Create or update an opportunity by our lookup rules: the contact by id or exact email (created if new), the company by id, domain or exact name (created if new), the opportunity by name among the contact's. Any writable field may be given: `amount`, `finalAmount` (numbers, not negative), `risk`, `priority` (text up to 100), `description`, `featuredNotes` (up to 5000), `nextStep` (up to 255), `closeDate` (ISO 8601 with offset), `closeProbability` (0–100) and `status` (`open`, `won` or `lost`, written as the stage's statuses, `salescaling.opportunityStatuses`). Only changed fields are written; the contact and company are linked unless already linked.",
  schema: () =>
    versioned(1, {
      contact: contactRefSchema(),
      company: companyRefSchema().optional(),
      opportunity: opportunityFieldsSchema,
    }),
  example: {
    schemaVersion: 1,
    contact: { email: 'ada@analytical.example.com', firstName: 'Ada', lastName: 'Lovelace' },
    company: { domain: 'analytical.example.com', name: 'Analytical Engines' },
    opportunity: { name: 'Analytical Engines – renewal', amount: 24000, nextStep: 'Demo' },
  },
});

const linkContact = define({
  detailType: 'Link Contact',
  direction: 'inbound',
  version: 1,
  by: 'integration-commands',
  description: 'Link a contact to an opportunity (nothing happens if already linked).',
  schema: () => versioned(1, { opportunityId: idSchema, contactId: idSchema }),
  example: { schemaVersion: 1, opportunityId: ID, contactId: ID2 },
});
const unlinkContact = define({
  detailType: 'Unlink Contact',
  direction: 'inbound',
  version: 1,
  by: 'integration-commands',
  description: 'Remove the link between a contact and an opportunity (nothing happens if not linked).',
  schema: () => versioned(1, { opportunityId: idSchema, contactId: idSchema }),
  example: { schemaVersion: 1, opportunityId: ID, contactId: ID2 },
});
const linkCompany = define({
  detailType: 'Link Company',
  direction: 'inbound',
  version: 1,
  by: 'integration-commands',
  description: 'Link a company to an opportunity (nothing happens if already linked).',
  schema: () => versioned(1, { opportunityId: idSchema, companyId: idSchema }),
  example: { schemaVersion: 1, opportunityId: ID, companyId: ID2 },
});
const unlinkCompany = define({
  detailType: 'Unlink Company',
  direction: 'inbound',
  version: 1,
  by: 'integration-commands',
  description: 'Remove the link between a company and an opportunity (nothing happens if not linked).',
  schema: () => versioned(1, { opportunityId: idSchema, companyId: idSchema }),
  example: { schemaVersion: 1, opportunityId: ID, companyId: ID2 },
});
const closeOpportunity = define({
  detailType: 'Close Opportunity',
  direction: 'inbound',
  version: 1,
  by: 'integration-commands',
  description:
    "Close an opportunity as won or lost (the stage's statuses, `salescaling.opportunityStatuses`), with close probability 100 or 0, close date the event's `time` (the clock's when that is missing or later than now) and the reason appended to its featured notes. An opportunity already closed is left as it is.",
  schema: () =>
    versioned(1, { opportunityId: idSchema, outcome: z.enum(['won', 'lost']), reason: text(500) }),
  example: { schemaVersion: 1, opportunityId: ID, outcome: 'won', reason: 'Invoice in_1Q2w3e paid' },
});

const deleteOpportunity = define({
  detailType: 'Delete Opportunity',
  direction: 'inbound',
  version: 1,
  by: 'integration-commands',
  destructive: true,
  description:
    'Delete an opportunity by id, for good. Applied only where the stage allows it (`commands.allowDelete`, off by default on every stage; while off, the command is rejected and nothing is called), and only sent by an integration that names it in its `detailTypes` (an integration without `detailTypes` gets every command but this one). An opportunity already gone is `no-change`. Announced by `Opportunity Deleted`, with what the opportunity held.',
  schema: () => versioned(1, { opportunityId: idSchema, reason: text(500) }),
  example: { schemaVersion: 1, opportunityId: ID, reason: 'Duplicate of 0f0c6a3e (merged in the CRM)' },
});

// ---------------------------------------------------------------------------------------------
// Outbound events

const stateSnapshot = lazy(() =>
  z.object({
    status: z.string().nullish(),
    closeProbability: z.number().nullish(),
    updatedAt: z.string().nullish(),
  }),
);

const leadReceived = define({
  detailType: 'Lead Received',
  direction: 'outbound',
  version: 1,
  by: 'lead-ingest',
  description: 'A verified, validated lead from a form or form tool, accepted and waiting to be synced.',
  schema: () => leadSchema,
  example: {
    schemaVersion: 1,
    submissionId: '01JD6Z8K2M4N8P0Q2R4S6T8V0X',
    source: { provider: 'typeform', formId: 'lT4Z3j', formName: 'Request a demo' },
    submittedAt: '2026-11-28T09:16:31.000Z',
    receivedAt: '2026-11-28T09:16:32.000Z',
    contact: { email: 'grace@cobol.example.org', firstName: 'Grace', lastName: 'Hopper' },
    company: { name: 'Cobol Industries', domain: 'cobol.example.org' },
    opportunity: { amount: 48000 },
    fields: { 'Team size': '50-200' },
  },
});

/** Who caused a change: a lead (its submissionId) or a command (its event id). */
const cause = () => ({
  submissionId: z.string().min(1).optional(),
  commandId: z.string().min(1).optional(),
});

const opportunityCreated = define({
  detailType: 'Opportunity Created',
  direction: 'outbound',
  version: 1,
  by: 'lead-sync, integration-commands',
  description: 'An opportunity was created in Salescaling for a lead or an Upsert Opportunity command.',
  schema: () =>
    versioned(1, {
      opportunityId: idSchema,
      contactId: idSchema,
      companyId: idSchema.optional(),
      ...cause(),
    }),
  example: {
    schemaVersion: 1,
    opportunityId: ID,
    contactId: ID2,
    submissionId: '01JD6Z8K2M4N8P0Q2R4S6T8V0X',
  },
});
const opportunityUpdated = define({
  detailType: 'Opportunity Updated',
  direction: 'outbound',
  version: 1,
  by: 'lead-sync, integration-commands',
  description: 'An existing opportunity was updated with the fields that changed.',
  schema: () =>
    versioned(1, {
      opportunityId: idSchema,
      contactId: idSchema,
      companyId: idSchema.optional(),
      changed: z.array(z.string()),
      ...cause(),
    }),
  example: { schemaVersion: 1, opportunityId: ID, contactId: ID2, changed: ['amount'], commandId: 'e6f1…' },
});
const contactLinked = define({
  detailType: 'Contact Linked',
  direction: 'outbound',
  version: 1,
  by: 'lead-sync, integration-commands',
  description: 'A contact was linked to an opportunity.',
  schema: () => versioned(1, { opportunityId: idSchema, contactId: idSchema, ...cause() }),
  example: {
    schemaVersion: 1,
    opportunityId: ID,
    contactId: ID2,
    submissionId: '01JD6Z8K2M4N8P0Q2R4S6T8V0X',
  },
});
const companyLinked = define({
  detailType: 'Company Linked',
  direction: 'outbound',
  version: 1,
  by: 'lead-sync, integration-commands',
  description: 'A company was linked to an opportunity.',
  schema: () => versioned(1, { opportunityId: idSchema, companyId: idSchema, ...cause() }),
  example: {
    schemaVersion: 1,
    opportunityId: ID,
    companyId: ID2,
    submissionId: '01JD6Z8K2M4N8P0Q2R4S6T8V0X',
  },
});
const contactUnlinked = define({
  detailType: 'Contact Unlinked',
  direction: 'outbound',
  version: 1,
  by: 'integration-commands',
  description: 'A contact was unlinked from an opportunity.',
  schema: () => versioned(1, { opportunityId: idSchema, contactId: idSchema, ...cause() }),
  example: { schemaVersion: 1, opportunityId: ID, contactId: ID2, commandId: 'e6f1…' },
});
const companyUnlinked = define({
  detailType: 'Company Unlinked',
  direction: 'outbound',
  version: 1,
  by: 'integration-commands',
  description: 'A company was unlinked from an opportunity.',
  schema: () => versioned(1, { opportunityId: idSchema, companyId: idSchema, ...cause() }),
  example: { schemaVersion: 1, opportunityId: ID, companyId: ID2, commandId: 'e6f1…' },
});
const opportunityClosed = define({
  detailType: 'Opportunity Closed',
  direction: 'outbound',
  version: 1,
  by: 'integration-commands',
  description: 'An opportunity was closed as won or lost by a Close Opportunity command.',
  schema: () =>
    versioned(1, {
      opportunityId: idSchema,
      outcome: z.enum(['won', 'lost']),
      reason: z.string(),
      before: stateSnapshot(),
      after: stateSnapshot(),
      ...cause(),
    }),
  example: {
    schemaVersion: 1,
    opportunityId: ID,
    outcome: 'won',
    reason: 'Invoice in_1Q2w3e paid',
    before: { status: 'open', closeProbability: 60, updatedAt: '2026-11-20T10:00:00.000Z' },
    after: { status: 'won', closeProbability: 100, updatedAt: '2026-11-28T10:00:00.000Z' },
    commandId: 'e6f1…',
  },
});
const opportunityDeleted = define({
  detailType: 'Opportunity Deleted',
  direction: 'outbound',
  version: 1,
  by: 'integration-commands',
  description:
    'An opportunity was deleted by a Delete Opportunity command: its reason, and what the opportunity held just before (its name, status, amount, close probability and last update).',
  schema: () =>
    versioned(1, {
      opportunityId: idSchema,
      reason: z.string(),
      before: stateSnapshot().extend({ name: z.string().nullish(), amount: z.number().nullish() }),
      ...cause(),
    }),
  example: {
    schemaVersion: 1,
    opportunityId: ID,
    reason: 'Duplicate of 0f0c6a3e (merged in the CRM)',
    before: {
      name: 'Analytical Engines – renewal',
      status: 'open',
      amount: 24000,
      closeProbability: 40,
      updatedAt: '2026-11-20T10:00:00.000Z',
    },
    commandId: 'e6f1…',
  },
});
const opportunityClosedAsStale = define({
  detailType: 'Opportunity Closed As Stale',
  direction: 'outbound',
  version: 1,
  by: 'stale-deals',
  description:
    'The stale-deal sweep closed an opportunity nobody worked; with the reasons, and its state before and after.',
  schema: () =>
    versioned(1, {
      opportunityId: idSchema,
      runId: z.string().min(1),
      reasons: z.array(z.string()),
      before: stateSnapshot(),
      after: stateSnapshot(),
    }),
  example: {
    schemaVersion: 1,
    opportunityId: ID,
    runId: '1f3a9c2e-0000-4000-8000-000000000000',
    reasons: ['no activity for 45 days (threshold 30)'],
    before: { status: 'open', closeProbability: 40, updatedAt: '2026-10-14T09:00:00.000Z' },
    after: { status: 'lost', closeProbability: 0, updatedAt: '2026-11-28T05:00:01.000Z' },
  },
});

/** The most deal ids a sweep's `wouldClose` lists (a dry run counts the rest without listing them). */
export const WOULD_CLOSE_LIMIT = 500;
/** Sweep totals only ever grow from zero: never negative, in the run record or in an event. */
const count = () => z.number().int().nonnegative();
export const sweepTotalsSchema = lazy(() =>
  z
    .object({
      scanned: count(),
      stale: count(),
      closed: count(),
      wouldClose: z.array(z.string()).max(WOULD_CLOSE_LIMIT),
      skipped: z.record(z.string(), count()),
      errors: count(),
    })
    .strict(),
);
/** A run longer than this many continuations is stopped: a sweep can never continue forever. */
export const MAX_SWEEP_STEPS = 1000;
/**
 * Version 2 carries only what names the step: everything else (dry run, reference time, page,
 * totals) lives in the run record the sweep wrote, and cap and rules come from the stage's
 * configuration. Version 1 carried the whole cursor and is refused.
 */
const staleSweepContinued = define({
  detailType: 'Stale Sweep Continued',
  direction: 'outbound',
  version: 2,
  by: 'stale-deals',
  description:
    'A stale-deal sweep ran short of time and resumes in a new invocation (consumed by the sweep itself). It names the run and the step only; the sweep takes everything else from the run record it wrote, and refuses an unknown or finished run or a step that is not the next one.',
  schema: () =>
    versioned(2, {
      runId: z.uuid(),
      step: z.number().int().min(1).max(MAX_SWEEP_STEPS),
    }),
  example: {
    schemaVersion: 2,
    runId: '1f3a9c2e-0000-4000-8000-000000000000',
    step: 1,
  },
});
const staleSweepCompleted = define({
  detailType: 'Stale Sweep Completed',
  direction: 'outbound',
  version: 1,
  by: 'stale-deals',
  description:
    'One stale-deal run finished: what it scanned, found, closed (or would close, in dry run) and skipped, and why.',
  schema: () =>
    versioned(1, {
      runId: z.string().min(1),
      dryRun: z.boolean(),
      ...sweepTotalsSchema().shape,
      capReached: z.boolean(),
      continuations: count(),
      startedAt: z.string(),
      finishedAt: z.string(),
      durationMs: z.number().int(),
    }),
  example: {
    schemaVersion: 1,
    runId: '1f3a9c2e-0000-4000-8000-000000000000',
    dryRun: false,
    scanned: 1200,
    stale: 31,
    closed: 29,
    wouldClose: [],
    skipped: { 'excluded-priority': 1, 'changed-since-read': 1 },
    errors: 0,
    capReached: false,
    continuations: 0,
    startedAt: '2026-11-28T05:00:00.000Z',
    finishedAt: '2026-11-28T05:03:10.000Z',
    durationMs: 190000,
  },
});
const commandApplied = define({
  detailType: 'Command Applied',
  direction: 'outbound',
  version: 1,
  by: 'integration-commands',
  description:
    'An inbound command was applied (`applied`; its own result events follow), found already in effect (`no-change`: e.g. a link already there, a deal already closed, an opportunity already deleted), or skipped because a newer command for the same opportunity was already taken up (`superseded`, with `newerCommandId` when known; see docs/replays.md).',
  schema: () =>
    versioned(1, {
      commandId: z.string().min(1),
      command: z.string(),
      outcome: z.enum(['applied', 'no-change', 'superseded']),
      opportunityId: idSchema.optional(),
      newerCommandId: z.string().min(1).optional(),
    }),
  example: {
    schemaVersion: 1,
    commandId: 'e6f1…',
    command: 'Close Opportunity',
    outcome: 'applied',
    opportunityId: ID,
  },
});
const commandRejected = define({
  detailType: 'Command Rejected',
  direction: 'outbound',
  version: 1,
  by: 'integration-commands',
  description:
    "An inbound command failed validation, was refused by the stage's settings (a Delete Opportunity while `commands.allowDelete` is off), or Salescaling refused it; it went to the dead-letter queue and will not be retried.",
  schema: () =>
    versioned(1, {
      commandId: z.string().min(1),
      command: z.string(),
      reason: z.string(),
      errors: z.array(z.object({ field: z.string(), message: z.string() })),
    }),
  example: {
    schemaVersion: 1,
    commandId: 'e6f1…',
    command: 'Close Opportunity',
    reason: 'Invalid command',
    errors: [{ field: 'outcome', message: 'Invalid option: expected one of "won"|"lost"' }],
  },
});

export const events = {
  upsertOpportunity,
  linkContact,
  unlinkContact,
  linkCompany,
  unlinkCompany,
  closeOpportunity,
  deleteOpportunity,
  leadReceived,
  opportunityCreated,
  opportunityUpdated,
  contactLinked,
  companyLinked,
  contactUnlinked,
  companyUnlinked,
  opportunityClosed,
  opportunityDeleted,
  opportunityClosedAsStale,
  staleSweepContinued,
  staleSweepCompleted,
  commandApplied,
  commandRejected,
} as const;

export const allEvents: readonly EventDefinition[] = Object.values(events);
export const commands = allEvents.filter((e) => e.direction === 'inbound');
/** What an integration may send when its `detailTypes` names none: every command but the destructive ones. */
export const defaultCommands = commands.filter((e) => !e.destructive);
export type EventDetail<E extends EventDefinition> = z.output<E['schema']>;
/** A detail as producers write it: the schema version is stamped by `publishEvent`. */
export type EventDetailInput<E extends EventDefinition> = Omit<z.input<E['schema']>, 'schemaVersion'>;
