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
} as const;
