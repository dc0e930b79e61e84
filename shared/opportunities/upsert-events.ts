import { events } from '#shared/events/catalog.ts';
import { type EventPublisher, publishEvent } from '#shared/events/publisher.ts';
import type { UpsertResult } from './upsert.ts';

/** What an upsert announces, with its cause: the lead's submissionId or the command's event id. */
export type Cause = { submissionId: string } | { commandId: string };

export async function publishUpsertEvents(
  publisher: EventPublisher,
  result: UpsertResult,
  cause: Cause,
): Promise<void> {
  const ids = {
    opportunityId: result.opportunityId,
    contactId: result.contactId,
    ...(result.companyId ? { companyId: result.companyId } : {}),
  };
  if (result.opportunity === 'created')
    await publishEvent(publisher, events.opportunityCreated, { ...ids, ...cause });
  if (result.opportunity === 'updated') {
    await publishEvent(publisher, events.opportunityUpdated, { ...ids, changed: result.changed, ...cause });
  }
  if (result.contactLinked) {
    await publishEvent(publisher, events.contactLinked, {
      opportunityId: result.opportunityId,
      contactId: result.contactId,
      ...cause,
    });
  }
  if (result.companyLinked && result.companyId) {
    await publishEvent(publisher, events.companyLinked, {
      opportunityId: result.opportunityId,
      companyId: result.companyId,
      ...cause,
    });
  }
}
