import { z } from 'zod';
import { leadSchema } from '#shared/leads/lead.ts';

/** The project's events: source and detail types, with the schema of each detail. */
export const EVENT_SOURCE = 'salescaling.automation';

const correlation = { submissionId: z.string().min(1) };
const id = z.string().min(1);

export const events = {
  leadReceived: { detailType: 'Lead Received', schema: leadSchema },
  opportunityCreated: {
    detailType: 'Opportunity Created',
    schema: z.object({ opportunityId: id, contactId: id, companyId: id.optional(), ...correlation }),
  },
  opportunityUpdated: {
    detailType: 'Opportunity Updated',
    schema: z.object({ opportunityId: id, contactId: id, companyId: id.optional(), ...correlation }),
  },
  contactLinked: {
    detailType: 'Contact Linked',
    schema: z.object({ opportunityId: id, contactId: id, ...correlation }),
  },
  companyLinked: {
    detailType: 'Company Linked',
    schema: z.object({ opportunityId: id, companyId: id, ...correlation }),
  },
  opportunityClosedAsStale: {
    detailType: 'Opportunity Closed As Stale',
    schema: z.object({
      opportunityId: id,
      runId: id,
      reasons: z.array(z.string()),
      before: z.object({
        status: z.string().nullish(),
        closeProbability: z.number().nullish(),
        updatedAt: z.string().nullish(),
      }),
      after: z.object({
        status: z.string().nullish(),
        closeProbability: z.number().nullish(),
        updatedAt: z.string().nullish(),
      }),
    }),
  },
  staleSweepContinued: { detailType: 'Stale Sweep Continued', schema: z.looseObject({ runId: id }) },
  staleSweepCompleted: {
    detailType: 'Stale Sweep Completed',
    schema: z.object({
      runId: id,
      dryRun: z.boolean(),
      scanned: z.number().int(),
      stale: z.number().int(),
      closed: z.number().int(),
      wouldClose: z.array(id),
      skipped: z.record(z.string(), z.number().int()),
      errors: z.number().int(),
      capReached: z.boolean(),
      continuations: z.number().int(),
      startedAt: z.string(),
      finishedAt: z.string(),
      durationMs: z.number().int(),
    }),
  },
} as const;
