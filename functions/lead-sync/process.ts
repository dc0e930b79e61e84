import type { SQSRecord } from 'aws-lambda';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { type Lead, leadSchema } from '#shared/leads/lead.ts';
import { publishUpsertEvents } from '#shared/opportunities/upsert-events.ts';
import { lastDeliveryReason } from '#shared/queues/dead-letter.ts';
import { SalescalingInvalidRequestError } from '#shared/salescaling/errors.ts';
import { describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';
import type { SyncResult } from './sync.ts';

/**
 * One SQS record of the lead-sync queue. Permanent failures (a detail that is not a Lead, a lead
 * Salescaling refuses) go to the dead-letter queue at once with their reason, and the record is
 * done; anything else is thrown, so the queue redelivers it with backoff.
 */
export interface RecordCollaborators {
  /** The idempotent sync (a repeated submissionId returns the stored result without calling anyone). */
  sync(lead: Lead): Promise<SyncResult>;
  deadLetter(record: SQSRecord, reason: string): Promise<void>;
  /** The queue's maxReceiveCount: on that delivery a transient failure is dead-lettered with its reason. */
  maxReceiveCount: number;
}

export async function processRecord(
  record: SQSRecord,
  collaborators: RecordCollaborators,
): Promise<SyncResult | undefined> {
  let detail: unknown;
  try {
    detail = (JSON.parse(record.body) as { detail?: unknown }).detail;
  } catch {
    await collaborators.deadLetter(record, 'The message is not an EventBridge event (not JSON)');
    return undefined;
  }
  const parsed = leadSchema.safeParse(detail);
  if (!parsed.success) {
    await collaborators.deadLetter(
      record,
      `Not a valid Lead Received detail: ${describeFieldIssues(fieldIssues(parsed.error))}`,
    );
    return undefined;
  }
  try {
    return await collaborators.sync(parsed.data);
  } catch (error) {
    if (error instanceof SalescalingInvalidRequestError) {
      await collaborators.deadLetter(record, `Salescaling refused the lead: ${error.message}`);
      return undefined;
    }
    // The last delivery: dead-letter it ourselves, so the message carries why.
    const reason = lastDeliveryReason(record, collaborators.maxReceiveCount, error);
    if (reason) {
      await collaborators.deadLetter(record, reason);
      return undefined;
    }
    throw error;
  }
}

/** The events one sync publishes, correlated by the lead's submissionId. */
export function publishSyncEvents(publisher: EventPublisher, lead: Lead, result: SyncResult): Promise<void> {
  return publishUpsertEvents(publisher, result, { submissionId: lead.submissionId });
}
