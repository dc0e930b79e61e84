import { events } from '#shared/events/catalog.ts';
import { type EventPublisher, publishEvent } from '#shared/events/publisher.ts';
import type { UpsertResult } from './upsert.ts';

/** What an upsert announces, with its cause: the lead's submissionId or the command's event id. */
export type Cause = { submissionId: string } | { commandId: string };

/**
 * Puts an upsert's events (one to three) on the bus side by side: independent events, one round trip
 * instead of one each (EventBridge keeps no order between PutEvents calls anyway). Fails if any
 * failed, after all have settled, so the caller's retry (the idempotency record is not saved) sends
 * them again, as it would have after a failure between sequential puts.
 */
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
  const puts: Promise<unknown>[] = [];
  if (result.opportunity === 'created')
    puts.push(publishEvent(publisher, events.opportunityCreated, { ...ids, ...cause }));
  if (result.opportunity === 'updated') {
    puts.push(
      publishEvent(publisher, events.opportunityUpdated, { ...ids, changed: result.changed, ...cause }),
    );
  }
  if (result.contactLinked) {
    puts.push(
      publishEvent(publisher, events.contactLinked, {
        opportunityId: result.opportunityId,
        contactId: result.contactId,
        ...cause,
      }),
    );
  }
  if (result.companyLinked && result.companyId) {
    puts.push(
      publishEvent(publisher, events.companyLinked, {
        opportunityId: result.opportunityId,
        companyId: result.companyId,
        ...cause,
      }),
    );
  }
  const failed = (await Promise.allSettled(puts)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
