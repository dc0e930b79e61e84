import { randomUUID } from 'node:crypto';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { matchesPattern, type Pattern } from './event-pattern.ts';
import type { LocalQueue } from './queue.ts';
import { RingLog } from './records.ts';

/**
 * The project's EventBridge bus, locally: `PutEvents` entries become EventBridge events, are kept in
 * a log (`GET /_local/events`), and are sent to the queue of every rule whose pattern matches.
 * Entries for another bus (the default one, say) are accepted and logged but match no rule, as in AWS.
 *
 * Like the stack's archive, every event put on this bus is also archived (a bounded ring, newest
 * kept), and `replay` sends a time window of it back to the bus as EventBridge's StartReplay does:
 * each event as it was (same `id`, same `time`) with a `replay-name` field added, to every matching
 * rule; replayed events are not archived again (docs/replays.md).
 */
const validTime = (time: string | number) =>
  !Number.isNaN(new Date(typeof time === 'number' ? time * 1000 : time).getTime());
// EventBridge's own bounds on each member; a request outside them is a ValidationException.
export const putEventsRequestSchema = z.object({
  Entries: z
    .array(
      z.object({
        Source: z.string().max(256).optional(),
        DetailType: z.string().max(128).optional(),
        Detail: z.string().optional(),
        EventBusName: z.string().max(1600).optional(),
        Resources: z.array(z.string().max(2048)).max(100).optional(),
        Time: z
          .union([z.string().max(64), z.number().finite()])
          .refine(validTime, { error: 'must be a timestamp' })
          .optional(),
      }),
    )
    .min(1)
    .max(10),
});
export type PutEventsRequest = z.infer<typeof putEventsRequestSchema>;
type Entry = PutEventsRequest['Entries'][number];

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export type BusEvent = EventBridgeEvent<string, unknown> & {
  'event-bus-name': string;
  /** Set on an event sent again by a replay: the replay's name. */
  'replay-name'?: string;
};

/** How many events the local archive keeps (the oldest go first), as the stack's keeps them for days. */
export const ARCHIVE_CAPACITY = 10_000;

/** A replay request: events with `from ≤ time < to` (StartReplay's EventStartTime and EventEndTime). */
export const replayRequestSchema = z
  .object({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    /** StartReplay's ReplayName rule; default `local-replay-<n>`. */
    name: z
      .string()
      .regex(/^[.\-_A-Za-z0-9]{1,64}$/, {
        error: 'must be 1 to 64 letters, digits, dots, dashes or underscores',
      })
      .optional(),
  })
  .strict()
  // Written so an unreadable time (NaN) is reported once, on its own field.
  .refine((r) => !(Date.parse(r.from) >= Date.parse(r.to)), { error: 'must be after from', path: ['to'] });
export type ReplayRequest = z.output<typeof replayRequestSchema>;

export interface Rule {
  name: string;
  pattern: Pattern;
  queue: LocalQueue;
  /** An input transformer: what the queue receives instead of the event. */
  transform?: ((event: unknown) => string) | undefined;
}

/** EventBridge's limit, per entry and for the whole request. */
export const MAX_ENTRY_BYTES = 256 * 1024;
/**
 * How deep a Detail may nest. EventBridge documents no figure; this one is far beyond any real event
 * and keeps every stored event cheap to match, serialise and serve (`GET /_local/events`).
 */
export const MAX_DETAIL_DEPTH = 100;

/** Whether a put entry may be stored, as the caller's permissions decide (undefined: allowed). */
export type Authorize = (entry: Entry) => PutEventsResultEntry | undefined;

export class LocalEventBus {
  readonly name: string;
  readonly arn: string;
  readonly events = new RingLog<BusEvent>(2000);
  /** Every event put on this bus (not the replayed ones), for `replay`. */
  readonly archive = new RingLog<BusEvent>(ARCHIVE_CAPACITY);
  #rules: Rule[] = [];
  #replays = 0;
  #region: string;
  #accountId: string;

  #onPut: ((event: BusEvent, rules: string[]) => void) | undefined;

  constructor(options: {
    name: string;
    region: string;
    accountId: string;
    /** Told of each event stored (replayed ones too) and the rules it matched (the console). */
    onPut?: ((event: BusEvent, rules: string[]) => void) | undefined;
  }) {
    this.name = options.name;
    this.#onPut = options.onPut;
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.arn = `arn:aws:events:${options.region}:${options.accountId}:event-bus/${options.name}`;
  }

  addRule(rule: Rule): void {
    this.#rules.push(rule);
  }

  get rules(): readonly Rule[] {
    return this.#rules;
  }

  /** Every entry is checked (shape, size, depth, then the caller's permission) before any is stored. */
  put(
    request: PutEventsRequest,
    authorize: Authorize = () => undefined,
  ): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    const entries = request.Entries.map((entry) => this.#putOne(entry, authorize));
    return { FailedEntryCount: entries.filter((e) => e.ErrorCode).length, Entries: entries };
  }

  #putOne(entry: Entry, authorize: Authorize): PutEventsResultEntry {
    const missing = (['Source', 'DetailType', 'Detail'] as const).filter((key) => !entry[key]);
    if (missing.length > 0) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter(s) ${missing.join(', ')} must be specified.`,
      };
    }
    if (entrySize(entry) > MAX_ENTRY_BYTES) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Entry size exceeds the 256 KB limit.' };
    }
    if (nestingDepth(entry.Detail ?? '') > MAX_DETAIL_DEPTH) {
      return {
        ErrorCode: 'MalformedDetail',
        ErrorMessage: `Detail nests deeper than ${MAX_DETAIL_DEPTH} levels.`,
      };
    }
    const refused = authorize(entry);
    if (refused) return refused;
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail ?? '');
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object.' };
    }
    const busName = busNameOf(entry.EventBusName);
    const time =
      entry.Time === undefined
        ? new Date()
        : new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : entry.Time);
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType ?? '',
      source: entry.Source ?? '',
      account: this.#accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.#region,
      resources: entry.Resources ?? [],
      detail,
      'event-bus-name': busName,
    };
    this.events.push(event);
    let rules: string[] = [];
    if (busName === this.name) {
      this.archive.push(event);
      rules = this.#deliver(event);
    }
    this.#onPut?.(event, rules);
    return { EventId: event.id };
  }

  /**
   * Sends the archived events of a time window back to the bus, oldest first (EventBridge replays
   * minute by minute, in no documented order within a minute), each as it was with `replay-name`
   * added. Returns how many were replayed.
   */
  replay(request: ReplayRequest): { replayName: string; replayed: number } {
    const replayName = request.name ?? `local-replay-${++this.#replays}`;
    const from = Date.parse(request.from);
    const to = Date.parse(request.to);
    const window = this.archive
      .list()
      .filter((e) => Date.parse(e.time) >= from && Date.parse(e.time) < to)
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    for (const archived of window) {
      const event: BusEvent = { ...archived, 'replay-name': replayName };
      this.events.push(event);
      this.#onPut?.(event, this.#deliver(event));
    }
    return { replayName, replayed: window.length };
  }

  /** Sends the event to every matching rule's queue; returns the rules' names. */
  #deliver(event: BusEvent): string[] {
    const { 'event-bus-name': _, ...delivered } = event;
    const matched: string[] = [];
    for (const rule of this.#rules) {
      if (matchesPattern(rule.pattern, delivered)) {
        rule.queue.send(rule.transform ? rule.transform(delivered) : JSON.stringify(delivered));
        matched.push(rule.name);
      }
    }
    return matched;
  }
}

/** An entry's size as EventBridge counts it: its source, detail type, detail, resources and time. */
export function entrySize(entry: Entry): number {
  return (
    Buffer.byteLength(entry.Source ?? '') +
    Buffer.byteLength(entry.DetailType ?? '') +
    Buffer.byteLength(entry.Detail ?? '') +
    (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0) +
    (entry.Time === undefined ? 0 : 14)
  );
}

/** The deepest nesting of a JSON text, in one pass (brackets inside strings do not count). */
export function nestingDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

function busNameOf(nameOrArn: string | undefined): string {
  if (!nameOrArn) return 'default';
  const arn = /^arn:aws:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(nameOrArn);
  return arn?.[1] ?? nameOrArn;
}
