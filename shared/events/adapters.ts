import type { Adapter } from '#functions/declaration.ts';

/**
 * Worked examples: real upstream events turned into commands by an EventBridge rule with an input
 * transformer, so the upstream system needs no code. Route your provider's events to the bus (an
 * EventBridge partner source, an API destination, or your own PutEvents) with the source and
 * detail-type below, or copy an example and adjust its paths.
 */
export const adapters: Adapter[] = [
  {
    name: 'payment-succeeded',
    description:
      "A billing provider's payment succeeded (Stripe-style payment_intent.succeeded, with the opportunity id in its metadata) marks the deal won.",
    pattern: {
      source: ['billing.example'],
      'detail-type': ['payment_intent.succeeded'],
      detail: { data: { object: { metadata: { salescaling_opportunity_id: [{ exists: true }] } } } },
    },
    inputPaths: {
      id: '$.id',
      // The event's time, so the command is ordered like any other (docs/replays.md).
      time: '$.time',
      opportunityId: '$.detail.data.object.metadata.salescaling_opportunity_id',
      payment: '$.detail.data.object.id',
    },
    template: {
      id: '<id>',
      time: '<time>',
      'detail-type': 'Close Opportunity',
      source: 'billing.example',
      detail: {
        schemaVersion: 1,
        opportunityId: '<opportunityId>',
        outcome: 'won',
        reason: 'Payment <payment> succeeded',
      },
    },
  },
  {
    name: 'meeting-booked',
    description:
      "A scheduling tool's meeting booked (Calendly-style invitee.created) creates the invitee's opportunity, or advances it with the meeting as its next step.",
    pattern: { source: ['scheduling.example'], 'detail-type': ['invitee.created'] },
    inputPaths: {
      id: '$.id',
      // The event's time, so the command is ordered like any other (docs/replays.md).
      time: '$.time',
      email: '$.detail.payload.email',
      meeting: '$.detail.payload.scheduled_event.name',
      start: '$.detail.payload.scheduled_event.start_time',
    },
    template: {
      id: '<id>',
      time: '<time>',
      'detail-type': 'Upsert Opportunity',
      source: 'scheduling.example',
      detail: {
        schemaVersion: 1,
        contact: { email: '<email>' },
        opportunity: { name: '<meeting>', nextStep: 'Meeting on <start>' },
      },
    },
  },
];
