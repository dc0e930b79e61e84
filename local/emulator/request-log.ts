import type { OperationName } from '#shared/salescaling/operations.ts';

/**
 * What the emulator received, for tests to read: every API request (admin routes excluded) with
 * its operation, a fingerprint of the key (never the key), the answer and any injected fault.
 */
export interface RequestRecord {
  seq: number;
  /** Milliseconds since the epoch when the request arrived. */
  receivedAt: number;
  method: string;
  path: string;
  operation: OperationName | null;
  keyId: string | null;
  status: number | null;
  outcome: 'pending' | 'answered' | 'hung' | 'dropped';
  fault: string | null;
  durationMs: number | null;
}

export interface RequestFilter {
  operation?: string | undefined;
  since?: number | undefined;
}

const MAX_RECORDS = 100_000;

export class RequestLog {
  #records: RequestRecord[] = [];
  #seq = 0;
  #inFlight = 0;
  #maxInFlight = 0;

  start(entry: Pick<RequestRecord, 'method' | 'path' | 'operation' | 'keyId'>): RequestRecord {
    this.#seq += 1;
    const record: RequestRecord = {
      ...entry,
      seq: this.#seq,
      receivedAt: Date.now(),
      status: null,
      outcome: 'pending',
      fault: null,
      durationMs: null,
    };
    this.#records.push(record);
    if (this.#records.length > MAX_RECORDS) this.#records.splice(0, this.#records.length - MAX_RECORDS);
    this.#inFlight += 1;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
    return record;
  }

  finish(
    record: RequestRecord,
    result: { status: number | null; outcome: RequestRecord['outcome']; fault?: string | null },
  ) {
    if (record.outcome !== 'pending') return;
    record.status = result.status;
    record.outcome = result.outcome;
    record.fault = result.fault ?? record.fault;
    record.durationMs = Date.now() - record.receivedAt;
    this.#inFlight -= 1;
  }

  list(filter: RequestFilter = {}): RequestRecord[] {
    return this.#records.filter(
      (record) =>
        (filter.operation === undefined || record.operation === filter.operation) &&
        (filter.since === undefined || record.seq > filter.since),
    );
  }

  stats() {
    const byOperation: Record<string, number> = {};
    for (const record of this.#records) {
      const key = record.operation ?? 'unknown';
      byOperation[key] = (byOperation[key] ?? 0) + 1;
    }
    return {
      total: this.#records.length,
      lastSeq: this.#seq,
      inFlight: this.#inFlight,
      maxInFlight: this.#maxInFlight,
      byOperation,
    };
  }

  clear(): void {
    this.#records = [];
    this.#maxInFlight = this.#inFlight;
  }
}
