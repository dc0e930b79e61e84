import type { BusEvent } from '../event-bus.ts';
import type { MessageDelivery, QueueBatchOutcome } from '../queue.ts';
import type { DeadLetter, InvocationRecord } from '../records.ts';
import { type ActivityRecorder, parseBody, type Refs, refsOf } from './recorder.ts';

/**
 * What the local runtime tells the console, turned into activity records: the runtime calls one
 * method per thing that happened, and never waits on the console.
 */
export class ConsoleHooks {
  readonly recorder: ActivityRecorder;
  /** HTTP requests in flight by function, so an event a function puts while answering one is tied to it. */
  readonly #httpInFlight = new Map<string, Set<{ refs: Refs }>>();

  constructor(recorder: ActivityRecorder) {
    this.recorder = recorder;
  }

  /** A request to a route begins: returns the call that records its answer. */
  httpStarted(functionName: string, method: string, path: string, routeKey: string, body: Buffer) {
    const startedAt = Date.now();
    const request = parseBody(body.toString('utf8'));
    const pending = { refs: refsOf(request.parsed) as Refs };
    const inFlight = this.#httpInFlight.get(functionName) ?? new Set();
    this.#httpInFlight.set(functionName, inFlight);
    inFlight.add(pending);
    return (answer: { status: number; body: string; coldStart: boolean; location?: string | undefined }) => {
      inFlight.delete(pending);
      const response = parseBody(answer.body);
      const answered = refsOf(response.parsed);
      // lead-ingest answers a lead's submission id as `id`.
      const id = (response.parsed as { id?: unknown } | undefined)?.id;
      const refs: Refs = {
        ...pending.refs,
        ...answered,
        ...(typeof id === 'string' && !pending.refs.submissionId ? { submissionId: id } : {}),
      };
      this.recorder.count(`route:${routeKey}`);
      this.recorder.add({
        t: startedAt,
        kind: 'http',
        function: functionName,
        durationMs: Date.now() - startedAt,
        title: `${method} ${path} → ${answer.status}`,
        status: String(answer.status),
        refs,
        data: {
          method,
          path,
          route: routeKey,
          coldStart: answer.coldStart,
          request: request.text,
          answer: response.text,
          location: answer.location ?? null,
        },
      });
    };
  }

  /** An event stored on the bus: who put it (a function's sandbox, or outside) and the rules it matched. */
  busPut(event: BusEvent, rules: string[], putBy: string | undefined): void {
    const refs = refsOf(event);
    if (putBy) {
      this.recorder.count(`put:${putBy}`);
      // The one HTTP request this function is answering now is the one that put it.
      const inFlight = this.#httpInFlight.get(putBy);
      if (inFlight?.size === 1) {
        const [pending] = inFlight;
        if (pending) pending.refs = { ...pending.refs, ...refs, commandId: pending.refs.commandId };
      }
    }
    for (const rule of rules) this.recorder.count(`rule:${rule}`);
    const detail = JSON.stringify(event.detail);
    this.recorder.add({
      kind: 'bus',
      function: putBy,
      title: `${event['detail-type']} (${event.source})${event['replay-name'] ? ` replayed by ${event['replay-name']}` : ''}`,
      status: rules.length > 0 ? `→ ${rules.join(', ')}` : 'no rule',
      refs,
      data: {
        detailType: event['detail-type'],
        source: event.source,
        bus: event['event-bus-name'],
        putBy: putBy ?? 'outside',
        rules: rules.join(', '),
        replay: event['replay-name'] ?? null,
        detail: parseBody(detail).text,
      },
    });
  }

  /** A queue batch ran: one record per message (its attempt and outcome). */
  delivered(
    queue: string,
    functionName: string,
    deliveries: MessageDelivery[],
    outcome: QueueBatchOutcome,
    startedAt: number,
  ): void {
    const durationMs = Date.now() - startedAt;
    this.recorder.count(`queue:${queue}`, deliveries.length);
    for (const delivery of deliveries) {
      const body = parseBody(delivery.body);
      this.recorder.add({
        t: startedAt,
        kind: 'delivery',
        function: functionName,
        durationMs,
        title: `${queue} → ${functionName}: attempt ${delivery.attempt}, ${delivery.outcome}${outcome.coldStart ? ' (cold start)' : ''}`,
        status: delivery.outcome,
        refs: { ...refsOf(body.parsed), messageId: delivery.messageId },
        data: {
          queue,
          attempt: delivery.attempt,
          batch: outcome.records,
          coldStart: outcome.coldStart,
          error: outcome.error ?? null,
          retryAt: delivery.visibleAt ? new Date(delivery.visibleAt).toISOString() : null,
          body: body.text,
        },
      });
    }
  }

  invocation(record: InvocationRecord): void {
    if (record.trigger === 'schedule') this.recorder.count(`schedule:${record.source}`);
    this.recorder.add({
      t: Date.parse(record.startedAt),
      kind: 'invocation',
      function: record.functionName,
      durationMs: record.durationMs,
      title: `${record.functionName} ← ${record.trigger} ${record.source}: ${record.detail}${record.coldStart ? ' (cold start)' : ''}`,
      status: record.outcome,
      refs: {},
      data: {
        trigger: record.trigger,
        source: record.source,
        detail: record.detail,
        coldStart: record.coldStart ?? null,
      },
    });
  }

  deadLetter(letter: DeadLetter, queue: string | undefined): void {
    if (queue) this.recorder.count(`dlq:${queue}`);
    const payload = typeof letter.payload === 'string' ? letter.payload : JSON.stringify(letter.payload);
    this.recorder.add({
      kind: 'dead-letter',
      function: letter.functionName,
      title: `${letter.functionName} dead-lettered after ${letter.attempts} attempt(s): ${letter.reason}`,
      status: 'dead-lettered',
      refs: refsOf(letter.payload),
      data: {
        source: letter.source,
        queue: queue ?? null,
        reason: letter.reason,
        attempts: letter.attempts,
        payload: parseBody(payload ?? '').text,
      },
    });
  }
}
