import { leadSchema } from '#shared/leads/lead.ts';

/** The project's events: source and detail types, with the schema of each detail. */
export const EVENT_SOURCE = 'salescaling.automation';

export const events = {
  leadReceived: { detailType: 'Lead Received', schema: leadSchema },
} as const;
