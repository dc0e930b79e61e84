import type { RequestRecord } from '#local/emulator/request-log.ts';
import type { ActivityRecorder } from './recorder.ts';

/**
 * Salescaling calls into the recorder, read from the emulator's request log (`GET
 * /_emulator/requests?since=`) — the emulator already sees every call with its operation, status,
 * fault and duration. A call is a retry when the previous call of the same method and path failed
 * (429, 5xx or no answer); its wait is the gap since that call ended. Calls the console itself made
 * (reading an opportunity for a journey) are marked `by: console`.
 */
export interface SalescalingFeed {
  /** Reads what is new now (a journey calls it first, so it is up to date). */
  poll(): Promise<void>;
  /** Marks the window of a read the console makes, so its calls are told apart. */
  consoleRead<T>(read: () => Promise<T>): Promise<T>;
  close(): void;
}

const POLL_MS = 300;
/** A call still unanswered after this long is recorded as it stands, so one hang cannot hold the feed. */
const PENDING_LIMIT_MS = 30_000;
/** How many method-and-path pairs the retry inference remembers. */
const RETRY_MEMORY = 1000;

export function startSalescalingFeed(
  emulatorUrl: string,
  recorder: ActivityRecorder,
  fetchRequests: (since: number) => Promise<RequestRecord[]> = (since) => readRequests(emulatorUrl, since),
): SalescalingFeed {
  let since = 0;
  let running: Promise<void> | undefined;
  const last = new Map<string, { failed: boolean; endedAt: number; retry: number }>();
  const consoleWindows: { from: number; to: number }[] = [];
  let consoleReadsOpen = 0;

  const byConsole = (record: RequestRecord) =>
    (record.operation === 'getOpportunity' ||
      record.operation === 'listOpportunityContacts' ||
      record.operation === 'listOpportunityCompanies') &&
    (consoleReadsOpen > 0 ||
      consoleWindows.some((w) => record.receivedAt >= w.from && record.receivedAt <= w.to));

  const ingest = (record: RequestRecord) => {
    const key = `${record.method} ${record.path}`;
    const previous = last.get(key);
    const failed = record.status === null || record.status === 429 || record.status >= 500;
    const retry = previous?.failed ? previous.retry + 1 : 0;
    const waitMs = previous?.failed ? Math.max(0, record.receivedAt - previous.endedAt) : null;
    last.delete(key);
    last.set(key, { failed, endedAt: record.receivedAt + (record.durationMs ?? 0), retry });
    if (last.size > RETRY_MEMORY) last.delete(last.keys().next().value as string);
    const opportunityId = /^\/api\/v1\/opportunities\/([^/]+)/.exec(record.path)?.[1];
    const by = byConsole(record) ? 'console' : 'function';
    recorder.add({
      t: record.receivedAt,
      kind: 'salescaling',
      durationMs: record.durationMs ?? undefined,
      title: `${record.operation ?? 'unknown'} ${record.method} ${record.path}${retry > 0 ? ` (retry ${retry})` : ''}`,
      status: record.status === null ? record.outcome : String(record.status),
      refs: { opportunityId: opportunityId ? safeDecode(opportunityId) : undefined },
      data: {
        operation: record.operation,
        method: record.method,
        path: record.path,
        outcome: record.outcome,
        fault: record.fault,
        retry,
        waitMs,
        by,
      },
    });
    if (by === 'function') recorder.count('salescaling');
  };

  const poll = async () => {
    const records = await fetchRequests(since);
    const now = Date.now();
    for (const record of records) {
      if (record.outcome === 'pending' && now - record.receivedAt < PENDING_LIMIT_MS) break;
      ingest(record);
      since = record.seq;
    }
  };
  const pollOnce = () => {
    running ??= poll()
      .catch(() => undefined)
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void pollOnce(), POLL_MS);
  timer.unref();
  return {
    poll: pollOnce,
    async consoleRead(read) {
      const from = Date.now();
      consoleReadsOpen += 1;
      try {
        return await read();
      } finally {
        consoleReadsOpen -= 1;
        consoleWindows.push({ from, to: Date.now() });
        if (consoleWindows.length > 100) consoleWindows.shift();
      }
    },
    close: () => clearInterval(timer),
  };
}

async function readRequests(emulatorUrl: string, since: number): Promise<RequestRecord[]> {
  const response = await fetch(`${emulatorUrl.replace(/\/+$/, '')}/_emulator/requests?since=${since}`);
  if (!response.ok) return [];
  const body = (await response.json()) as { requests?: RequestRecord[] };
  // At most a batch at a time: a burst of thousands is read over a few polls.
  return (body.requests ?? []).slice(0, 2000);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
