import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import * as z from 'zod';
import { faultSettingsSchema } from '#local/emulator/faults.ts';
import { allEvents } from '#shared/events/catalog.ts';
import { describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';
import { journeyOf } from './journey.ts';
import type { OpportunityReader } from './opportunity-reader.ts';
import { type Activity, type ActivityRecorder, activityKinds } from './recorder.ts';
import type { SalescalingFeed } from './salescaling-feed.ts';
import { buildTestLead, testLeadSchema } from './test-lead.ts';

/**
 * The console's HTTP surface, under `/_local/console/` (so the runtime's loopback-only, Host and
 * cross-site guards apply before any of it): the page and its assets, the live stream (server-sent
 * events), the stream's records, a journey, the system picture, and the actions. Every action is a
 * POST with a JSON body and the per-start token the page carries (`x-console-token`): a cross-site
 * page can neither read the token nor send that header without a preflight this server never grants.
 */
export const CONSOLE_PATH = '/_local/console';
/** Live stream clients at once; one more is refused (503) rather than let memory grow. */
export const MAX_STREAM_CLIENTS = 8;
/** Records sent to a new stream client before the live ones. */
const BACKLOG = 300;
/** A stream client this far behind (bytes buffered) is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const MAX_ACTION_BYTES = 300 * 1024;
/** Records `GET api/activity` answers by default, and at most. */
const DEFAULT_ACTIVITY = 200;
const MAX_ACTIVITY = 1000;

export interface ConsoleSystem {
  routes: { route: string; function: string }[];
  schedules: { schedule: string; function: string; expression: string }[];
  rules: { rule: string; queue: string; function: string }[];
  functions: { name: string; salescaling: boolean; publishes: string[] }[];
  deadLetterQueues: { name: string; function: string; source: string; depth: number }[];
}

export interface ConsoleDeps {
  recorder: ActivityRecorder;
  /** Absent when there is no emulator to read the Salescaling calls from. */
  feed: SalescalingFeed | undefined;
  readOpportunity: OpportunityReader | undefined;
  emulatorUrl: string | undefined;
  runtimeUrl: () => string;
  system: () => ConsoleSystem;
  signingSecrets: Readonly<Record<string, readonly string[] | undefined>>;
  putCommand: (
    detailType: string,
    detail: string,
  ) => { EventId?: string; ErrorCode?: string; ErrorMessage?: string };
  fireSchedule: (
    name: string,
    override: Record<string, unknown>,
  ) => Promise<{ status: number; body: unknown } | undefined>;
  redrive: (dlqName: string) => number | undefined;
}

const inboundCommands = allEvents.filter((e) => e.direction === 'inbound').map((e) => e.detailType);

const commandSchema = z
  .object({
    detailType: z.enum(inboundCommands as [string, ...string[]]),
    detail: z.record(z.string(), z.unknown()),
  })
  .strict();
const scheduleSchema = z.object({ name: z.string().min(1).max(200), dryRun: z.boolean() }).strict();
const redriveSchema = z.object({ queue: z.string().min(1).max(200) }).strict();
const faultsSchema = z.union([
  z.object({ clear: z.literal(true) }).strict(),
  faultSettingsSchema.pick({
    errorRate: true,
    rateLimitRate: true,
    latencyMs: true,
    retryAfterSeconds: true,
  }),
]);
const journeyKey = z.string().trim().min(1).max(300);

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export class ConsoleApi {
  /** Per start: the page carries it, and every action must send it back. */
  readonly token = randomBytes(24).toString('base64url');
  readonly #deps: ConsoleDeps;
  readonly #clients = new Set<ServerResponse>();
  readonly #salescalingFunctions: Set<string>;

  constructor(deps: ConsoleDeps) {
    this.#deps = deps;
    this.#salescalingFunctions = new Set(
      deps
        .system()
        .functions.filter((f) => f.salescaling)
        .map((f) => f.name),
    );
  }

  /** Handles `/_local/console…` (the caller has applied the runtime's guards). */
  async handle(
    method: string,
    url: URL,
    headers: IncomingHttpHeaders,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const path = url.pathname.slice(CONSOLE_PATH.length) || '/';
    if (method === 'GET') {
      const asset = STATIC[path];
      if (asset) return this.#asset(asset, res);
      switch (path) {
        case '/api/stream':
          return this.#stream(url, headers, res);
        case '/api/activity':
          return this.#activity(url, res);
        case '/api/journey':
          return this.#journey(url, res);
        case '/api/system':
          return send(res, 200, this.#system());
        case '/api/faults':
          return this.#faults(undefined, res);
      }
    }
    if (method === 'POST' && path.startsWith('/api/actions/')) {
      if (!this.#authorised(headers)) {
        return send(res, 403, {
          message: 'Forbidden: console actions need the x-console-token header the console page carries',
        });
      }
      if (!/^application\/json\b/i.test(headers['content-type'] ?? '')) {
        return send(res, 415, { message: 'Unsupported Media Type: actions take application/json' });
      }
      if (body.length > MAX_ACTION_BYTES) return send(res, 413, { message: 'Request Entity Too Large' });
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch {
        return send(res, 400, { message: 'The body must be JSON' });
      }
      switch (path.slice('/api/actions/'.length)) {
        case 'lead':
          return this.#sendLead(input, res);
        case 'command':
          return this.#putCommand(input, res);
        case 'schedule':
          return this.#runSchedule(input, res);
        case 'redrive':
          return this.#redrive(input, res);
        case 'faults':
          return this.#faults(input, res);
      }
    }
    return send(res, 404, { message: `No console route ${method} ${url.pathname.slice(0, 200)}` });
  }

  close(): void {
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  #authorised(headers: IncomingHttpHeaders): boolean {
    const given = Buffer.from(String(headers['x-console-token'] ?? ''));
    const expected = Buffer.from(this.token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async #asset(asset: { file: string; type: string }, res: ServerResponse): Promise<void> {
    let content = await readFile(new URL(`./static/${asset.file}`, import.meta.url), 'utf8');
    if (asset.file === 'index.html') content = content.replace('__CONSOLE_TOKEN__', this.token);
    res.writeHead(200, { 'content-type': asset.type, ...SECURITY_HEADERS });
    res.end(content);
  }

  #stream(url: URL, headers: IncomingHttpHeaders, res: ServerResponse) {
    if (this.#clients.size >= MAX_STREAM_CLIENTS) {
      return send(res, 503, { message: `Service Unavailable: at most ${MAX_STREAM_CLIENTS} live streams` });
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    // Something at once, so the browser sees the stream open even before the first record.
    res.write(': connected\n\n');
    this.#clients.add(res);
    const write = (activity: Activity) => {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy();
        return;
      }
      res.write(`id: ${activity.seq}\nevent: activity\ndata: ${JSON.stringify(activity)}\n\n`);
    };
    // A reconnecting EventSource says where it left off (Last-Event-ID); the page may say `since`.
    const since = Number(url.searchParams.get('since') ?? headers['last-event-id'] ?? Number.NaN);
    const backlog = this.#deps.recorder.list();
    for (const activity of Number.isInteger(since)
      ? backlog.filter((a) => a.seq > since).slice(-BACKLOG)
      : backlog.slice(-BACKLOG))
      write(activity);
    const unsubscribe = this.#deps.recorder.subscribe(write);
    // A comment now and then keeps proxies and the browser from closing an idle stream.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    res.on('close', () => {
      unsubscribe();
      clearInterval(keepAlive);
      this.#clients.delete(res);
    });
  }

  async #activity(url: URL, res: ServerResponse): Promise<void> {
    await this.#deps.feed?.poll();
    const kind = url.searchParams.get('kind');
    const fn = url.searchParams.get('function');
    const id = url.searchParams.get('id');
    const wanted = Number(url.searchParams.get('limit') ?? DEFAULT_ACTIVITY) || DEFAULT_ACTIVITY;
    const count = Math.min(MAX_ACTIVITY, Math.max(1, wanted));
    if (kind && !activityKinds.includes(kind as Activity['kind'])) {
      return send(res, 400, { message: `kind: must be one of ${activityKinds.join(', ')}` });
    }
    const items = this.#deps.recorder
      .list()
      .filter(
        (a) =>
          (!kind || a.kind === kind) &&
          (!fn || a.function === fn) &&
          (!id || a.ids.includes(id.includes('@') ? id.toLowerCase() : id)),
      )
      .slice(-count)
      .reverse();
    send(res, 200, { activity: items });
  }

  async #journey(url: URL, res: ServerResponse): Promise<void> {
    const key = journeyKey.safeParse(url.searchParams.get('key') ?? '');
    if (!key.success) return send(res, 400, { message: 'key: must be a submission id, command id or email' });
    await this.#deps.feed?.poll();
    const journey = journeyOf(this.#deps.recorder.list(), key.data, this.#salescalingFunctions);
    const read = this.#deps.readOpportunity;
    const opportunities = read
      ? await (this.#deps.feed
          ? this.#deps.feed.consoleRead(() => Promise.all(journey.opportunityIds.slice(0, 5).map(read)))
          : Promise.all(journey.opportunityIds.slice(0, 5).map(read)))
      : [];
    const pending = new Set(
      this.#system()
        .deadLetterQueues.filter((q) => q.depth > 0)
        .map((q) => q.name),
    );
    send(res, 200, {
      ...journey,
      found: journey.records.length > 0,
      opportunities,
      deadLetterQueues: journey.deadLetterQueues.filter((q) => pending.has(q)),
    });
  }

  #system() {
    const system = this.#deps.system();
    const counts = Object.fromEntries(this.#deps.recorder.counts);
    return {
      ...system,
      counts,
      salescalingCalls: this.#deps.feed !== undefined,
      salescalingByFunction: callsByFunction(this.#deps.recorder.list(), this.#salescalingFunctions),
      commands: allEvents
        .filter((e) => e.direction === 'inbound')
        .map((e) => ({ detailType: e.detailType, example: e.example })),
    };
  }

  async #sendLead(input: unknown, res: ServerResponse): Promise<void> {
    const lead = testLeadSchema.safeParse(input);
    if (!lead.success) return invalid(res, 'Invalid test lead', lead.error);
    const startedAt = Date.now();
    const built = buildTestLead(lead.data, this.#deps.signingSecrets);
    if ('error' in built) return send(res, 400, { message: built.error });
    const response = await fetch(`${this.#deps.runtimeUrl()}${built.path}`, {
      method: 'POST',
      headers: built.headers,
      body: built.body,
      redirect: 'manual',
    });
    const answer = (await response.text()).slice(0, 2000);
    let submissionId = built.submissionId;
    try {
      const parsed = JSON.parse(answer) as { id?: unknown };
      if (typeof parsed.id === 'string') submissionId = parsed.id;
    } catch {
      // Not JSON (a redirect or an error page): keep what we sent.
    }
    this.#deps.recorder.add({
      t: startedAt,
      kind: 'action',
      title: `Sent a test lead (${lead.data.provider}) → ${response.status}`,
      status: String(response.status),
      refs: { submissionId, email: lead.data.email },
      data: { action: 'lead', provider: lead.data.provider, path: built.path },
    });
    send(res, 200, { status: response.status, submissionId, answer, email: lead.data.email });
  }

  #putCommand(input: unknown, res: ServerResponse) {
    const command = commandSchema.safeParse(input);
    if (!command.success) return invalid(res, 'Invalid command', command.error);
    const result = this.#deps.putCommand(command.data.detailType, JSON.stringify(command.data.detail));
    if (!result.EventId) {
      return send(res, 400, {
        message: `The bus refused the command: ${result.ErrorMessage ?? result.ErrorCode}`,
      });
    }
    this.#deps.recorder.add({
      kind: 'action',
      title: `Put ${command.data.detailType} on the bus`,
      status: 'ok',
      refs: { commandId: result.EventId },
      data: { action: 'command', detailType: command.data.detailType },
    });
    send(res, 200, { commandId: result.EventId });
  }

  async #runSchedule(input: unknown, res: ServerResponse): Promise<void> {
    const request = scheduleSchema.safeParse(input);
    if (!request.success) return invalid(res, 'Invalid schedule run', request.error);
    this.#deps.recorder.add({
      kind: 'action',
      title: `Ran schedule ${request.data.name} (${request.data.dryRun ? 'dry run' : 'for real'})`,
      status: 'ok',
      refs: {},
      data: { action: 'schedule', schedule: request.data.name, dryRun: request.data.dryRun },
    });
    const result = await this.#deps.fireSchedule(request.data.name, { dryRun: request.data.dryRun });
    if (!result) return send(res, 404, { message: `name: no schedule named ${request.data.name}` });
    send(res, result.status, result.body);
  }

  #redrive(input: unknown, res: ServerResponse) {
    const request = redriveSchema.safeParse(input);
    if (!request.success) return invalid(res, 'Invalid redrive', request.error);
    const moved = this.#deps.redrive(request.data.queue);
    if (moved === undefined)
      return send(res, 404, { message: `queue: no dead-letter queue ${request.data.queue}` });
    this.#deps.recorder.add({
      kind: 'action',
      title: `Redrove ${request.data.queue}: ${moved} message(s) back to their queue`,
      status: 'ok',
      refs: {},
      data: { action: 'redrive', queue: request.data.queue, moved },
    });
    send(res, 200, { queue: request.data.queue, moved });
  }

  async #faults(input: unknown, res: ServerResponse): Promise<void> {
    const emulator = this.#deps.emulatorUrl;
    if (!emulator)
      return send(res, 409, { message: 'No emulator: faults are set on the Salescaling emulator only' });
    const base = `${emulator.replace(/\/+$/, '')}/_emulator/faults`;
    if (input === undefined) {
      const response = await fetch(base);
      return send(res, response.status, await response.json());
    }
    const request = faultsSchema.safeParse(input);
    if (!request.success) return invalid(res, 'Invalid faults', request.error);
    const clear = 'clear' in request.data;
    const response = await fetch(base, {
      method: clear ? 'DELETE' : 'PUT',
      headers: { 'content-type': 'application/json' },
      body: clear ? undefined : JSON.stringify(request.data),
    });
    const answer: unknown = await response.json();
    this.#deps.recorder.add({
      kind: 'action',
      title: clear ? 'Cleared the emulator faults' : `Set emulator faults ${JSON.stringify(request.data)}`,
      status: String(response.status),
      refs: {},
      data: { action: 'faults' },
    });
    send(res, response.status, answer);
  }
}

/**
 * The Salescaling calls in the ring by the function that made them, matched by time: a call made
 * while only one function's deliveries or runs were in progress is that function's; one made while
 * several were is counted under `shared`.
 */
export function callsByFunction(records: readonly Activity[], salescalingFunctions: ReadonlySet<string>) {
  const windows = new Map<string, { fn: string; from: number; to: number }>();
  for (const r of records) {
    if (
      (r.kind === 'delivery' || r.kind === 'invocation') &&
      r.function &&
      salescalingFunctions.has(r.function)
    ) {
      // A batch's messages share one window: keep it once.
      windows.set(`${r.function}@${r.t}`, { fn: r.function, from: r.t, to: r.t + (r.durationMs ?? 0) + 5 });
    }
  }
  const counts: Record<string, number> = {};
  const all = [...windows.values()];
  for (const r of records) {
    if (r.kind !== 'salescaling' || r.data.by === 'console') continue;
    const owners = new Set(all.filter((w) => r.t >= w.from && r.t <= w.to).map((w) => w.fn));
    const key = owners.size === 1 ? ([...owners][0] as string) : owners.size > 1 ? 'shared' : 'unmatched';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function invalid(res: ServerResponse, message: string, error: z.ZodError): void {
  send(res, 400, { message: `${message}: ${describeFieldIssues(fieldIssues(error))}` });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
