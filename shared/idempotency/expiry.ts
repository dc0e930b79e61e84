/**
 * How long idempotency records (and the newest-command marks beside them) live. A replay from the
 * bus archive re-delivers events up to the archive's retention old, with their original ids: a
 * record that expired before its event can be replayed no longer stops the duplicate. So records
 * outlive the archive, plus the longest a replayed event may then wait before it is processed: the
 * 14 days a dead letter is kept (a replayed event dead-lettered during an outage and redriven on its
 * last day is still recognised).
 */
export const REPLAY_MARGIN_DAYS = 14;

const DAY_SECONDS = 24 * 3600;

/** The expiry, in days, a stage gets unless it sets `idempotencyExpiryDays`. */
export function defaultIdempotencyExpiryDays(archiveRetentionDays: number): number {
  return archiveRetentionDays + REPLAY_MARGIN_DAYS;
}

export function daysToSeconds(days: number): number {
  return days * DAY_SECONDS;
}

/**
 * Why an expiry cannot be deployed, or undefined: records kept for less than the archive keeps its
 * events let an old replay apply again (a second opportunity, a reverted value).
 */
export function idempotencyExpiryProblem(
  expiryDays: number,
  archiveRetentionDays: number,
): string | undefined {
  if (expiryDays >= archiveRetentionDays) return undefined;
  return `idempotencyExpiryDays ${expiryDays} is shorter than eventArchiveRetentionDays ${archiveRetentionDays}: an event replayed from the archive after ${expiryDays} days would be applied again; raise idempotencyExpiryDays to at least ${archiveRetentionDays} (default: the archive retention + ${REPLAY_MARGIN_DAYS})`;
}
