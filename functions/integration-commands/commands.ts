import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { commands, type EventDefinition, events } from '#shared/events/catalog.ts';
import { type EventPublisher, publishEvent } from '#shared/events/publisher.ts';
import type { CommandOrderStore, OrderMark } from '#shared/idempotency/command-order.ts';
import { statusOf } from '#shared/opportunities/fields.ts';
import { upsertOpportunity } from '#shared/opportunities/upsert.ts';
import { publishUpsertEvents } from '#shared/opportunities/upsert-events.ts';
import { closedStatus, MAX_LIST_LIMIT, type OpportunityStatuses } from '#shared/salescaling/assumptions.ts';
import type { SalescalingClient } from '#shared/salescaling/client.ts';
import { SalescalingInvalidRequestError, SalescalingNotFoundError } from '#shared/salescaling/errors.ts';
import { boundFieldIssues, clipText, type FieldIssue, fieldIssues } from '#shared/salescaling/schemas.ts';

/**
 * Applying one inbound command (an event another system put on the bus). Each command looks before
 * it writes, so applying it again changes nothing; the handler also makes each event id apply once.
 * A command that is invalid, or that Salescaling refuses (400/404/422), is a CommandRejected:
 * `applyOrReject` publishes `Command Rejected` and returns the rejection, which the handler then
 * dead-letters (the last step, so a retry never sends a second letter) and does not retry.
 *
 * Commands are also ordered: each carries its time (the EventBridge event's `time`, kept by a
 * replay), and one older than the newest command already taken up for the same opportunity is
 * superseded: skipped, announced as `Command Applied` with outcome `superseded`, never applied, so a
 * late delivery, a re-send under a new id or a replay cannot revert a newer change (docs/replays.md).
 */
export interface CommandEvent {
  id: string;
  'detail-type': string;
  /** When the producer put it on the bus (EventBridge's `time`; a replay keeps it). */
  time?: string | undefined;
  detail: unknown;
}

/** The account's opportunity statuses (the stage setting `salescaling.opportunityStatuses`). */
export type CommandSettings = OpportunityStatuses;

export interface CommandCollaborators {
  client: SalescalingClient;
  publisher: EventPublisher;
  settings: CommandSettings;
  /** The clock: bounds a command's time, and dates a close whose time is ahead of it. Default: the system clock. */
  now?: (() => Date) | undefined;
  /** The newest command taken up per opportunity (the ordering guard). */
  orderStore: CommandOrderStore;
  /** Whether Delete Opportunity is applied (the stage's `commands.allowDelete`). Default: no. */
  allowDelete?: boolean | undefined;
}

export class CommandRejected extends Error {
  readonly errors: readonly FieldIssue[];
  constructor(message: string, errors: readonly FieldIssue[] = []) {
    super(message);
    this.name = 'CommandRejected';
    this.errors = errors;
  }
}

/** Why a Delete Opportunity is rejected where the stage does not allow it. */
export const DELETE_REFUSED =
  'Deleting opportunities is turned off on this stage (the stage setting commands.allowDelete)';

export interface CommandOutcome {
  outcome: 'applied' | 'no-change' | 'superseded';
  opportunityId?: string | undefined;
  /** For `superseded`: the newer command already taken up for the same opportunity. */
  newerCommandId?: string | undefined;
}

/**
 * How far ahead of our clock a command's time may be. A producer sets the time it puts (PutEvents
 * `Time`); one far in the future would supersede every later command for its opportunity.
 */
export const MAX_COMMAND_CLOCK_SKEW_MS = 5 * 60_000;

/** A command refused for good: what its dead letter and its `Command Rejected` say, bounded. */
export interface CommandRejection {
  outcome: 'rejected';
  reason: string;
  errors: FieldIssue[];
}

/** The longest reason, command or id a rejection repeats (each may echo the sender's text). */
const MAX_REJECTION_TEXT = 500;

/**
 * Applies the command, or, when it is refused for good, publishes one bounded `Command Rejected`
 * and returns the rejection. The handler runs this under the event id's idempotency record, so the
 * rejection is stored like any outcome: a redelivery or a redrive of the same event publishes
 * nothing again. Anything else thrown is transient, and nothing has been published for it.
 */
export async function applyOrReject(
  event: CommandEvent,
  deps: CommandCollaborators & { warn: (message: string, details: object) => void },
): Promise<CommandOutcome | CommandRejection> {
  try {
    return await applyCommand(event, deps);
  } catch (error) {
    if (!(error instanceof CommandRejected)) throw error;
    const rejection: CommandRejection = {
      outcome: 'rejected',
      reason: clipText(error.message, MAX_REJECTION_TEXT),
      errors: boundFieldIssues(error.errors),
    };
    await publishRejection(deps.publisher, event, rejection, deps.warn);
    return rejection;
  }
}

/**
 * Publishes `Command Rejected`. Bounded as it is, it fits EventBridge's limit; should EventBridge
 * refuse it anyway, it goes out again without its errors (the dead letter keeps them), and that is
 * logged. Only when that fails too does this throw (the record is retried; its last delivery is
 * dead-lettered with the cause).
 */
export async function publishRejection(
  publisher: EventPublisher,
  event: CommandEvent,
  rejection: CommandRejection,
  warn: (message: string, details: object) => void,
): Promise<void> {
  const detail = {
    commandId: clipText(String(event.id), MAX_REJECTION_TEXT),
    command: clipText(String(event['detail-type']), MAX_REJECTION_TEXT),
    reason: rejection.reason,
    errors: rejection.errors,
  };
  try {
    await publishEvent(publisher, events.commandRejected, detail);
  } catch (error) {
    warn('Command Rejected could not be published with its errors; publishing it without them', {
      cause: error instanceof Error ? clipText(error.message, MAX_REJECTION_TEXT) : 'unknown',
      errors: rejection.errors.length,
    });
    await publishEvent(publisher, events.commandRejected, {
      ...detail,
      errors:
        rejection.errors.length > 0
          ? [{ field: '(errors)', message: `${rejection.errors.length} errors: see the dead letter` }]
          : [],
    });
  }
}

type Detail<E extends EventDefinition> = z.output<E['schema']>;

/** The command's time in epoch milliseconds; a command without one, or too far ahead, is refused. */
export function commandTime(event: CommandEvent, now: number): number {
  const time =
    typeof event.time === 'string' && event.time.length <= 64 ? Date.parse(event.time) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new CommandRejected('The command has no valid time', [
      { field: 'time', message: 'must be the EventBridge event time (ISO 8601)' },
    ]);
  }
  if (time > now + MAX_COMMAND_CLOCK_SKEW_MS) {
    throw new CommandRejected('The command is dated in the future', [
      {
        field: 'time',
        message: `must be at most ${MAX_COMMAND_CLOCK_SKEW_MS / 60_000} minutes ahead of now`,
      },
    ]);
  }
  return time;
}

const opportunityKey = (opportunityId: string) => `opportunity#${opportunityId.toLowerCase()}`;

/**
 * Which mark a command is ordered by. A command naming its opportunity: that opportunity. An
 * `Upsert Opportunity` names none; it is keyed by what it resolves by, its contact (id or email) and
 * the opportunity's name (trimmed, any case, as the upsert compares it), hashed to a bounded key.
 */
export function orderKey(
  definition: EventDefinition,
  detail: unknown,
): { key: string; opportunityId?: string | undefined } {
  if (definition.detailType === events.upsertOpportunity.detailType) {
    const { contact, opportunity } = detail as Detail<typeof events.upsertOpportunity>;
    const who = 'id' in contact ? `id:${contact.id.toLowerCase()}` : `email:${contact.email}`;
    const name = opportunity.name.trim().toLowerCase();
    return { key: `upsert#${createHash('sha256').update(`${who}\n${name}`).digest('hex')}` };
  }
  const { opportunityId } = detail as { opportunityId: string };
  return { key: opportunityKey(opportunityId), opportunityId };
}

/**
 * What a command's record must not race with in its batch (shared/queues/keyed-chains.ts): a command
 * naming an opportunity waits for the batch's earlier commands on the same one, so they are applied
 * in batch order as the guard expects; upserts name none before they run (they find or create it),
 * so they wait for each other, as they did when a batch ran in series. An unreadable record has none.
 * Commands on one opportunity in two batches at once are what the ordering guard itself settles.
 */
export function commandChainKeys(body: string): string[] {
  let event: { 'detail-type'?: unknown; detail?: unknown };
  try {
    event = JSON.parse(body) as typeof event;
  } catch {
    return [];
  }
  if (event?.['detail-type'] === events.upsertOpportunity.detailType) return ['upserts'];
  const opportunityId = (event?.detail as { opportunityId?: unknown } | undefined)?.opportunityId;
  return typeof opportunityId === 'string' ? [opportunityKey(opportunityId.slice(0, 200))] : [];
}

export async function applyCommand(event: CommandEvent, deps: CommandCollaborators): Promise<CommandOutcome> {
  const definition = commands.find((c) => c.detailType === event['detail-type']);
  if (!definition) throw new CommandRejected(`Unknown command "${event['detail-type']}"`);
  const parsed = definition.schema.safeParse(event.detail);
  if (!parsed.success) throw new CommandRejected('Invalid command', fieldIssues(parsed.error));
  // Before the ordering guard and any call: a refused delete leaves no trace but its rejection.
  if (definition.detailType === events.deleteOpportunity.detailType && deps.allowDelete !== true) {
    throw new CommandRejected(DELETE_REFUSED, [
      { field: '(command)', message: 'Delete Opportunity is not applied on this stage' },
    ]);
  }
  const cause = { commandId: event.id };
  const now = deps.now?.() ?? new Date();
  const mark: OrderMark = { time: commandTime(event, now.getTime()), commandId: event.id };
  const ordered = orderKey(definition, parsed.data);
  const claimed = await deps.orderStore.advance(ordered.key, mark);
  try {
    const outcome: CommandOutcome = claimed.advanced
      ? await dispatch(definition, parsed.data, deps, cause, closeTime(event, { now: () => now }))
      : {
          outcome: 'superseded',
          opportunityId: ordered.opportunityId,
          newerCommandId: claimed.newer?.commandId,
        };
    // What an upsert resolved to is ordered too, so an older link, unlink or close by id is superseded.
    if (claimed.advanced && !ordered.opportunityId && outcome.opportunityId) {
      await deps.orderStore.advance(opportunityKey(outcome.opportunityId), mark);
    }
    await publishEvent(deps.publisher, events.commandApplied, {
      commandId: event.id,
      command: definition.detailType,
      outcome: outcome.outcome,
      ...(outcome.opportunityId ? { opportunityId: outcome.opportunityId } : {}),
      ...(outcome.newerCommandId ? { newerCommandId: outcome.newerCommandId } : {}),
    });
    return outcome;
  } catch (error) {
    if (error instanceof SalescalingInvalidRequestError || error instanceof SalescalingNotFoundError) {
      throw new CommandRejected(
        `Salescaling refused the command: ${error.message}`,
        error instanceof SalescalingInvalidRequestError ? error.fields : [],
      );
    }
    throw error;
  }
}

/**
 * When a Close Opportunity closed the deal, for its closeDate (the actual close date, see
 * CLOSE_DATE_MEANS): the event's time, so a late delivery or a replay dates it when the producer
 * said; the clock when the time is later than now (a producer may set any time, and no deal closes
 * in the future; the ordering guard has already refused a missing time or one far ahead).
 */
export function closeTime(event: Pick<CommandEvent, 'time'>, deps: Pick<CommandCollaborators, 'now'>): Date {
  const now = deps.now?.() ?? new Date();
  const at = typeof event.time === 'string' ? Date.parse(event.time) : Number.NaN;
  return Number.isNaN(at) || at > now.getTime() ? now : new Date(at);
}

async function dispatch(
  definition: EventDefinition,
  detail: unknown,
  deps: CommandCollaborators,
  cause: { commandId: string },
  closedAt: Date,
): Promise<CommandOutcome> {
  const { client, publisher } = deps;
  switch (definition.detailType) {
    case events.upsertOpportunity.detailType: {
      const command = detail as Detail<typeof events.upsertOpportunity>;
      const { status, ...fields } = command.opportunity;
      const opportunity = { ...fields, status: status ? statusOf(status, deps.settings) : undefined };
      // Integrations are authorised by the bus policy to change what the CRM holds.
      const result = await upsertOpportunity({ ...command, opportunity }, client, {
        statusOnCreate: deps.settings.open,
        existing: 'overwrite',
      });
      await publishUpsertEvents(publisher, result, cause);
      const changed = result.opportunity !== 'unchanged' || result.contactLinked || result.companyLinked;
      return { outcome: changed ? 'applied' : 'no-change', opportunityId: result.opportunityId };
    }
    case events.linkContact.detailType:
    case events.unlinkContact.detailType: {
      const { opportunityId, contactId } = detail as Detail<typeof events.linkContact>;
      const linked = (
        await client.listOpportunityContacts(opportunityId, { limit: MAX_LIST_LIMIT })
      ).items.some((c) => c.contactId === contactId);
      const link = definition.detailType === events.linkContact.detailType;
      if (linked === link) return { outcome: 'no-change', opportunityId };
      if (link) await client.linkContact(opportunityId, contactId);
      else await client.unlinkContact(opportunityId, contactId);
      await publishEvent(publisher, link ? events.contactLinked : events.contactUnlinked, {
        opportunityId,
        contactId,
        ...cause,
      });
      return { outcome: 'applied', opportunityId };
    }
    case events.linkCompany.detailType:
    case events.unlinkCompany.detailType: {
      const { opportunityId, companyId } = detail as Detail<typeof events.linkCompany>;
      const linked = (
        await client.listOpportunityCompanies(opportunityId, { limit: MAX_LIST_LIMIT })
      ).items.some((c) => c.companyId === companyId);
      const link = definition.detailType === events.linkCompany.detailType;
      if (linked === link) return { outcome: 'no-change', opportunityId };
      if (link) await client.linkCompany(opportunityId, companyId);
      else await client.unlinkCompany(opportunityId, companyId);
      await publishEvent(publisher, link ? events.companyLinked : events.companyUnlinked, {
        opportunityId,
        companyId,
        ...cause,
      });
      return { outcome: 'applied', opportunityId };
    }
    case events.closeOpportunity.detailType: {
      const { opportunityId, outcome, reason } = detail as Detail<typeof events.closeOpportunity>;
      const { won, lost } = deps.settings;
      let before:
        | { status?: string | null; closeProbability?: number | null; updatedAt?: string | null }
        | undefined;
      const after = await client
        .updateOpportunity(opportunityId, (current) => {
          // Already won or lost: leave it as it is (a replayed or late command changes nothing).
          if (current.status === won || current.status === lost) throw new AlreadyClosed();
          before = current;
          const note = `Closed as ${outcome} by an integration: ${reason}`;
          return {
            status: closedStatus(deps.settings, outcome),
            closeProbability: outcome === 'won' ? 100 : 0,
            closeDate: closedAt,
            featuredNotes: current.featuredNotes ? `${current.featuredNotes}\n${note}` : note,
          };
        })
        .catch((error: unknown) => {
          if (error instanceof AlreadyClosed) return undefined;
          throw error;
        });
      if (!before || !after) return { outcome: 'no-change', opportunityId };
      await publishEvent(publisher, events.opportunityClosed, {
        opportunityId,
        outcome,
        reason,
        before: {
          status: before.status,
          closeProbability: before.closeProbability,
          updatedAt: before.updatedAt,
        },
        after: { status: after.status, closeProbability: after.closeProbability, updatedAt: after.updatedAt },
        ...cause,
      });
      return { outcome: 'applied', opportunityId };
    }
    case events.deleteOpportunity.detailType: {
      const { opportunityId, reason } = detail as Detail<typeof events.deleteOpportunity>;
      // Gone already (deleted by an earlier delivery, or by a person): nothing to do, and that is success.
      const gone = (error: unknown) => {
        if (error instanceof SalescalingNotFoundError) return undefined;
        throw error;
      };
      const before = await client.getOpportunity(opportunityId).catch(gone);
      if (!before) return { outcome: 'no-change', opportunityId };
      const deleted = await client.deleteOpportunity(opportunityId).then(() => true, gone);
      if (!deleted) return { outcome: 'no-change', opportunityId };
      await publishEvent(publisher, events.opportunityDeleted, {
        opportunityId,
        reason,
        before: {
          name: before.name,
          status: before.status,
          amount: before.amount,
          closeProbability: before.closeProbability,
          updatedAt: before.updatedAt,
        },
        ...cause,
      });
      return { outcome: 'applied', opportunityId };
    }
    default:
      throw new CommandRejected(`Unknown command "${definition.detailType}"`);
  }
}

class AlreadyClosed extends Error {}
