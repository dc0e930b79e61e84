/**
 * The console's activity recorder: one stream of typed records of what the local runtime does (HTTP
 * requests and their answers, bus puts, queue deliveries and their outcomes, invocations, Salescaling
 * calls, dead letters, console actions), kept in a ring buffer and pushed to live subscribers.
 *
 * Every record is bounded: strings are clipped, bodies are kept as clipped text, and the ids a record
 * is found by are a short list. Records carry no header and no secret: only bodies and names.
 */
export type ActivityKind =
  | 'http'
  | 'bus'
  | 'delivery'
  | 'invocation'
  | 'salescaling'
  | 'dead-letter'
  | 'action';
export const activityKinds: readonly ActivityKind[] = [
  'http',
  'bus',
  'delivery',
  'invocation',
  'salescaling',
  'dead-letter',
  'action',
];

/** The ids a record can be found by; the `expand` ones also lead a journey on to other records. */
export interface Refs {
  submissionId?: string | undefined;
  commandId?: string | undefined;
  eventId?: string | undefined;
  messageId?: string | undefined;
  email?: string | undefined;
  opportunityId?: string | undefined;
  contactId?: string | undefined;
  companyId?: string | undefined;
  runId?: string | undefined;
}

export interface Activity {
  seq: number;
  /** When it started (ISO 8601) and the same in epoch milliseconds. */
  at: string;
  t: number;
  kind: ActivityKind;
  function?: string | undefined;
  durationMs?: number | undefined;
  /** One line for the stream. */
  title: string;
  /** `ok`, `error`, an HTTP status, `retry`, `dead-lettered`… */
  status: string;
  refs: Refs;
  /** Every id in `refs`, for filtering by any id. */
  ids: string[];
  /** Kind-specific details, each value bounded. */
  data: Record<string, string | number | boolean | null>;
}

export type ActivityInput = Omit<Activity, 'seq' | 'at' | 't' | 'ids'> & { t?: number | undefined };

/** How many records the ring keeps (the oldest go first). */
export const RECORDER_CAPACITY = 5000;
/** The longest string a record keeps (bodies included); longer ones are clipped with a marker. */
export const MAX_FIELD_CHARS = 2000;

export class ActivityRecorder {
  #items: Activity[] = [];
  #seq = 0;
  readonly #capacity: number;
  readonly #subscribers = new Set<(activity: Activity) => void>();
  /** Counts per arrow of the system picture (`route:POST /leads`, `rule:lead-received`…), since start. */
  readonly counts = new Map<string, number>();

  constructor(capacity = RECORDER_CAPACITY) {
    this.#capacity = capacity;
  }

  add(input: ActivityInput): Activity {
    const t = input.t ?? Date.now();
    const refs = cleanRefs(input.refs);
    const data: Activity['data'] = {};
    for (const [key, value] of Object.entries(input.data)) {
      data[key] = typeof value === 'string' ? clip(value) : value;
    }
    const activity: Activity = {
      ...input,
      title: clip(input.title, 300),
      status: clip(input.status, 100),
      seq: ++this.#seq,
      at: new Date(t).toISOString(),
      t,
      refs,
      ids: [...new Set(Object.values(refs).filter((v): v is string => typeof v === 'string'))],
      data,
    };
    this.#items.push(activity);
    if (this.#items.length > this.#capacity) this.#items.splice(0, this.#items.length - this.#capacity);
    for (const subscriber of this.#subscribers) subscriber(activity);
    return activity;
  }

  count(edge: string, by = 1): void {
    this.counts.set(edge, (this.counts.get(edge) ?? 0) + by);
  }

  list(): Activity[] {
    return [...this.#items];
  }

  get lastSeq(): number {
    return this.#seq;
  }

  subscribe(listener: (activity: Activity) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }
}

export function clip(text: string, max = MAX_FIELD_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

function cleanRefs(refs: Refs): Refs {
  const clean: Refs = {};
  for (const [key, value] of Object.entries(refs) as [keyof Refs, unknown][]) {
    if (typeof value === 'string' && value.length > 0) {
      const text = value.slice(0, 300);
      clean[key] = key === 'email' ? text.toLowerCase() : text;
    }
  }
  return clean;
}

const REF_KEYS = new Set([
  'submissionId',
  'commandId',
  'opportunityId',
  'contactId',
  'companyId',
  'runId',
  'email',
]);

/**
 * The ids found in a parsed body (an event, a queue message, a lead): the known keys, at most a few
 * levels down and a bounded number of nodes in all, so any body costs the same small walk.
 * A top-level `id` next to `detail-type` is the event's id (a command's id is its event's id).
 */
export function refsOf(value: unknown): Refs {
  const refs: Refs = {};
  if (typeof value !== 'object' || value === null) return refs;
  const top = value as Record<string, unknown>;
  if (typeof top.id === 'string' && 'detail-type' in top) {
    refs.eventId = top.id;
    const detailType = String(top['detail-type']);
    const source = String(top.source ?? '');
    // An inbound command (any source but ours) is known by its event id.
    if (!source.startsWith('salescaling.automation') && detailType !== 'Lead Received')
      refs.commandId = top.id;
  }
  let budget = 300;
  const walk = (node: unknown, depth: number) => {
    if (budget <= 0 || depth > 4 || typeof node !== 'object' || node === null) return;
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      if (--budget <= 0) return;
      if (REF_KEYS.has(key) && typeof child === 'string') {
        const slot = key as keyof Refs;
        if (refs[slot] === undefined) refs[slot] = child;
      } else if (typeof child === 'object') walk(child, depth + 1);
    }
  };
  walk(value, 0);
  return refs;
}

/** A body as text: JSON parsed when it is JSON (for its ids), clipped either way. */
export function parseBody(text: string): { parsed: unknown; text: string } {
  let parsed: unknown;
  if (text.length <= 256 * 1024) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { parsed, text: clip(text) };
}
