import type { Lead } from '#shared/leads/lead.ts';
import { statusOf } from '#shared/opportunities/fields.ts';
import { type UpsertOptions, type UpsertResult, upsertOpportunity } from '#shared/opportunities/upsert.ts';
import { DEFAULT_OPPORTUNITY_STATUSES, type OpportunityStatuses } from '#shared/salescaling/assumptions.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';

/**
 * One lead → one opportunity, linked to its contact and company: the lead's contact (by exact
 * email), its company (by domain, else exact name; none for a free-mail lead without one) and its
 * opportunity hints, through the shared upsert (see `shared/opportunities/upsert.ts` for the steps
 * and why each is safe to repeat).
 *
 * A lead is a claim from outside: the unsigned form route is anonymous, and even a signed provider
 * vouches only for its own submission. So it may create an opportunity and fill in what an existing
 * one lacks (`fill-empty`), never change what the CRM holds; and only an orphan created after the
 * lead arrived can be adopted as its own.
 */
export type SyncResult = UpsertResult;
export type SyncOptions = Pick<UpsertOptions, 'statusOnCreate'> & {
  /** The stage's statuses, for a lead's mapped `status` role; default: `statusOnCreate` and the defaults. */
  statuses?: OpportunityStatuses | undefined;
};

export function syncLead(lead: Lead, client: SalescalingClient, options: SyncOptions): Promise<SyncResult> {
  const { contact, company, opportunity } = lead;
  const statuses = options.statuses ?? { ...DEFAULT_OPPORTUNITY_STATUSES, open: options.statusOnCreate };
  return upsertOpportunity(
    {
      contact: { ...contact, leadSource: lead.source.provider },
      company: company.domain || company.name ? company : undefined,
      opportunity: {
        name: opportunityName(lead),
        amount: opportunity.amount,
        description: describeOpportunity(lead),
        // The fields a form reaches only by an explicit mapping (docs/lead-capture.md).
        finalAmount: opportunity.finalAmount,
        risk: opportunity.risk,
        priority: opportunity.priority,
        featuredNotes: opportunity.featuredNotes,
        nextStep: opportunity.nextStep,
        closeDate: opportunity.actualCloseDate,
        closeProbability: opportunity.closeProbability,
        status: opportunity.status ? statusOf(opportunity.status, statuses) : undefined,
      },
    },
    client,
    { statusOnCreate: options.statusOnCreate, existing: 'fill-empty', arrivedAt: new Date(lead.receivedAt) },
  );
}

/**
 * The lead's description, with the date the form asked for on a line of its own where a person
 * reads it: Salescaling's closeDate is the actual close date, set only when the deal closes.
 */
export function describeOpportunity(lead: Lead): string | undefined {
  const { description } = lead.opportunity;
  const target = lead.opportunity.targetDate ?? lead.opportunity.closeDate;
  if (!target) return description;
  const line = `Target date (from the form): ${new Date(target).toISOString().slice(0, 10)}`;
  return description ? `${description}\n\n${line}` : line;
}

/** The opportunity's name: the lead's own, else "<company, person or email> – inbound lead", stable per lead. */
export function opportunityName(lead: Lead): string {
  if (lead.opportunity.name) return lead.opportunity.name;
  const person = [lead.contact.firstName, lead.contact.lastName].filter(Boolean).join(' ');
  const who = lead.company.name ?? (person || lead.contact.email);
  return `${who} – inbound lead`;
}
