import type { Activity } from './recorder.ts';

/**
 * A lead's or a command's journey: every record that names it, followed through the ids that carry
 * it from one step to the next (the submission id, the command's event id, the bus event id, the
 * queue message id), then the Salescaling calls made while a delivery of it ran. An email or an
 * opportunity id finds the first records but is never followed (one contact has many leads).
 */
export interface Journey {
  key: string;
  records: Activity[];
  submissionIds: string[];
  commandIds: string[];
  opportunityIds: string[];
  /** Dead-letter queues holding a step of it now (for the redrive button). */
  deadLetterQueues: string[];
  /**
   * Salescaling calls were matched by time and another delivery (a batch neighbour, or a concurrent
   * batch) ran at the same time: the calls listed may include its calls, except those that name
   * another opportunity.
   */
  overlapping: boolean;
}

const FOLLOWED = ['submissionId', 'commandId', 'eventId', 'messageId'] as const;
/** The furthest a journey follows ids (request → event → message → result events, and back). */
const HOPS = 4;

export function journeyOf(
  all: readonly Activity[],
  rawKey: string,
  salescalingFunctions: ReadonlySet<string>,
) {
  const key = rawKey.includes('@') ? rawKey.trim().toLowerCase() : rawKey.trim();
  const wanted = new Set([key]);
  const included = new Map<number, Activity>();
  for (let hop = 0; hop < HOPS; hop++) {
    const before = wanted.size;
    for (const record of all) {
      if (record.kind === 'salescaling' || included.has(record.seq)) continue;
      if (!record.ids.some((id) => wanted.has(id))) continue;
      included.set(record.seq, record);
      for (const name of FOLLOWED) {
        const id = record.refs[name];
        if (id) wanted.add(id);
      }
    }
    if (wanted.size === before) break;
  }
  // The Salescaling calls made while a delivery (or scheduled run) of it ran, in its function.
  const windows = [...included.values()]
    .filter(
      (r) =>
        (r.kind === 'delivery' || r.kind === 'invocation') &&
        r.function !== undefined &&
        salescalingFunctions.has(r.function),
    )
    .map((r) => ({ from: r.t, to: r.t + (r.durationMs ?? 0) + 5, batch: Number(r.data.batch ?? 0) }));
  let overlapping = false;
  if (windows.length > 0) {
    for (const record of all) {
      if (record.kind === 'salescaling' && record.data.by !== 'console') {
        if (windows.some((w) => record.t >= w.from && record.t <= w.to)) included.set(record.seq, record);
      }
    }
    // Another delivery of a Salescaling function running at the same time shares the window.
    overlapping = all.some(
      (r) =>
        r.kind === 'delivery' &&
        !included.has(r.seq) &&
        r.function !== undefined &&
        salescalingFunctions.has(r.function) &&
        windows.some((w) => r.t < w.to && r.t + (r.durationMs ?? 0) > w.from),
    );
  }
  const sorted = [...included.values()].sort((a, b) => a.t - b.t || a.seq - b.seq);
  const collect = (from: readonly Activity[], pick: (r: Activity) => string | undefined) => [
    ...new Set(from.map(pick).filter((v): v is string => Boolean(v))),
  ];
  const opportunityIds = collect(sorted, (r) =>
    r.kind === 'bus' && r.data.source === 'salescaling.automation' ? r.refs.opportunityId : undefined,
  );
  // A call on another opportunity (a batch neighbour's link, say) is not this journey's.
  const records = sorted.filter(
    (r) =>
      r.kind !== 'salescaling' ||
      r.refs.opportunityId === undefined ||
      opportunityIds.length === 0 ||
      opportunityIds.includes(r.refs.opportunityId),
  );
  return {
    key,
    records,
    submissionIds: collect(records, (r) => r.refs.submissionId),
    commandIds: collect(records, (r) => r.refs.commandId),
    opportunityIds,
    deadLetterQueues: collect(records, (r) =>
      r.kind === 'dead-letter' && typeof r.data.queue === 'string' ? r.data.queue : undefined,
    ),
    overlapping,
  } satisfies Journey;
}
