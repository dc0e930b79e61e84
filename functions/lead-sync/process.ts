import { IdempotencyValidationError } from '@aws-lambda-powertools/idempotency';
import type { SQSRecord } from 'aws-lambda';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { type Lead, leadSchema } from '#shared/leads/lead.ts';
import { publishUpsertEvents } from '#shared/opportunities/upsert-events.ts';
import { lastDeliveryReason } from '#shared/queues/dead-letter.ts';
import type { FailureDecision } from '#shared/queues/retry.ts';
import { SalescalingInvalidRequestError } from '#shared/salescaling/errors.ts';
import { describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';
import type { SyncResult } from './sync.ts';

/**
 * What makes two deliveries one lead (Powertools idempotency). The key names the door as well as the
 * id: `msg_X` posted unsigned to /leads and `msg_X` from a signed Standard Webhooks sender are two
 * leads. The payload check compares what the lead says, not `receivedAt` or `submittedAt` (which
 * differ between retries of one submission): a true redelivery dedupes; a different lead under a used
 * key throws IdempotencyValidationError. `fields` goes in as its keys and values, because Powertools
 * sorts objects by copying them into plain ones, where a field named `__proto__` would drop out of
 * the hash.
 */
export const leadIdempotency = {
  eventKeyJmesPath: '[source.provider, submissionId]',
  payloadValidationJmesPath: '[contact, company, opportunity, keys(fields), values(fields)]',
} as const;

/**
 * One SQS record of the lead-sync queue. Permanent failures (a detail that is not a Lead, a lead
 * Salescaling refuses, a different lead under an id already used) go to the dead-letter queue at
 * once with their reason, and the record is done; anything else is thrown, so the queue redelivers
 * it, after a growing delay when it is Salescaling's (shared/queues/retry.ts), until the outage
 * window has passed; then it is dead-lettered with its reason.
 */
export interface RecordCollaborators {
  /**
   * The idempotent sync: the same lead again (provider, submissionId and content) returns the stored
   * result without calling anyone; a different lead under a used provider and submissionId throws
   * IdempotencyValidationError.
   */
  sync(lead: Lead): Promise<SyncResult>;
  deadLetter(record: SQSRecord, reason: string): Promise<void>;
  /** The queue's maxReceiveCount: on that delivery a transient failure is dead-lettered with its reason. */
  maxReceiveCount: number;
  /**
   * The queue's retry policy for a record that threw (shared/queues/retry.ts `queueRetries`): give
   * up with a reason, or back off. Absent: give up on the maxReceiveCount-th delivery only.
   */
  retry?: (record: SQSRecord, error: unknown) => Promise<FailureDecision>;
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
    if (error instanceof IdempotencyValidationError) {
      // Never dropped silently: a person must see it (a squatter's id, or a sender reusing ids).
      await collaborators.deadLetter(record, reusedIdReason(parsed.data, error));
      return undefined;
    }
    // Past the outage window, or the last delivery: dead-letter it ourselves, so the message carries why.
    const decision = collaborators.retry
      ? await collaborators.retry(record, error)
      : giveUpOnLastDelivery(record, collaborators.maxReceiveCount, error);
    if (decision.giveUp) {
      await collaborators.deadLetter(record, decision.reason);
      return undefined;
    }
    throw error;
  }
}

function giveUpOnLastDelivery(record: SQSRecord, maxReceiveCount: number, error: unknown): FailureDecision {
  const reason = lastDeliveryReason(record, maxReceiveCount, error);
  return reason ? { giveUp: true, reason } : { giveUp: false, delaySeconds: undefined };
}

function reusedIdReason(lead: Lead, error: IdempotencyValidationError): string {
  const { submissionId } = lead;
  const { provider } = lead.source;
  // A record stored before content was compared has no payload hash: it cannot tell same from different.
  if (!error.existingRecord?.payloadHash) {
    return `Submission id "${submissionId}" from ${provider} was synced before lead content was compared; not synced again: check whether this lead is the same`;
  }
  return `A different lead already used submission id "${submissionId}" from ${provider}`;
}

/**
 * What a lead's record must not race with in its batch (shared/queues/keyed-chains.ts): two leads of
 * one contact or one company run in batch order, so the second finds what the first created rather
 * than creating it twice. A record that is not a Lead has none (it is only dead-lettered).
 */
export function leadChainKeys(record: SQSRecord): string[] {
  let detail: unknown;
  try {
    detail = (JSON.parse(record.body) as { detail?: unknown }).detail;
  } catch {
    return [];
  }
  const parsed = leadSchema.safeParse(detail);
  if (!parsed.success) return [];
  const { contact, company } = parsed.data;
  return [
    `contact:${contact.email}`,
    ...(company.domain ? [`company-domain:${company.domain.toLowerCase()}`] : []),
    ...(company.name ? [`company-name:${company.name.trim().toLowerCase()}`] : []),
  ];
}

/** The events one sync publishes, correlated by the lead's submissionId. */
export function publishSyncEvents(publisher: EventPublisher, lead: Lead, result: SyncResult): Promise<void> {
  return publishUpsertEvents(publisher, result, { submissionId: lead.submissionId });
}
