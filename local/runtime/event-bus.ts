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
 */
export const putEventsRequestSchema = z.object({
  Entries: z
    .array(
      z.object({
        Source: z.string().optional(),
        DetailType: z.string().optional(),
        Detail: z.string().optional(),
        EventBusName: z.string().optional(),
        Resources: z.array(z.string()).optional(),
        Time: z.union([z.string(), z.number()]).optional(),
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

export type BusEvent = EventBridgeEvent<string, unknown> & { 'event-bus-name': string };

export interface Rule {
  name: string;
  pattern: Pattern;
  queue: LocalQueue;
  /** An input transformer: what the queue receives instead of the event. */
  transform?: ((event: unknown) => string) | undefined;
}

const MAX_ENTRY_BYTES = 256 * 1024;

export class LocalEventBus {
  readonly name: string;
  readonly arn: string;
  readonly events = new RingLog<BusEvent>(2000);
  #rules: Rule[] = [];
  #region: string;
  #accountId: string;

  constructor(options: { name: string; region: string; accountId: string }) {
    this.name = options.name;
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

  put(request: PutEventsRequest): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    const entries = request.Entries.map((entry) => this.#putOne(entry));
    return { FailedEntryCount: entries.filter((e) => e.ErrorCode).length, Entries: entries };
  }

  #putOne(entry: Entry): PutEventsResultEntry {
    const missing = (['Source', 'DetailType', 'Detail'] as const).filter((key) => !entry[key]);
    if (missing.length > 0) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter(s) ${missing.join(', ')} must be specified.`,
      };
    }
    if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Entry size exceeds the 256 KB limit.' };
    }
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
    if (busName === this.name) {
      const { 'event-bus-name': _, ...delivered } = event;
      for (const rule of this.#rules) {
        if (matchesPattern(rule.pattern, delivered)) {
          rule.queue.send(rule.transform ? rule.transform(delivered) : JSON.stringify(delivered));
        }
      }
    }
    return { EventId: event.id };
  }
}

function busNameOf(nameOrArn: string | undefined): string {
  if (!nameOrArn) return 'default';
  const arn = /^arn:aws:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(nameOrArn);
  return arn?.[1] ?? nameOrArn;
}
