import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import * as z from 'zod';
import { isCrossSite, isFromThisMachine, isLoopbackHost, WILDCARDS } from '#local/runtime/guards.ts';
import { matchOperation } from '#shared/salescaling/operations.ts';
import { boundFieldIssues, describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';
import { ApiError, type ApiResult, handleApi } from './api.ts';
import {
  type FaultDecision,
  FaultInjector,
  type FaultSettingsInput,
  faultSettingsSchema,
  scriptedFaultSchema,
} from './faults.ts';
import { salescalingContract } from './openapi.ts';
import { RequestLog, type RequestRecord } from './request-log.ts';
import { type SeedOptions, type SeedSummary, seedOptionsSchema, seedStore } from './seed.ts';
import { emulatorSemantics } from './semantics.ts';
import { EmulatorStore } from './store.ts';

/**
 * The Salescaling emulator: a real HTTP server on loopback that answers Salescaling's paths with
 * its envelope and `x-api-key` auth, keeps state in SQLite, injects faults and logs requests.
 * Admin routes (no auth, loopback only) live under `/_emulator/`.
 */
export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string | undefined;
  /** Default 0 (a free port). */
  port?: number | undefined;
  /** Keys accepted in `x-api-key`. Default `['local-dev-key']`. */
  apiKeys?: readonly string[] | undefined;
  /** SQLite file for state that survives a restart; in memory when absent. */
  dbFile?: string | undefined;
  faults?: FaultSettingsInput | undefined;
  /** Generate data at start (only into an empty store). */
  seed?: SeedOptions | undefined;
  now?: (() => Date) | undefined;
}

export interface RunningEmulator {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `http://127.0.0.1:PORT/api/v1/`, what a Salescaling client takes as its base URL. */
  apiBaseUrl: string;
  port: number;
  store: EmulatorStore;
  /** What the start-up seed generated (its stale deals among it); absent when nothing was seeded. */
  seeded: SeedSummary | undefined;
  faults: FaultInjector;
  log: RequestLog;
  setApiKeys(keys: readonly string[]): void;
  close(): Promise<void>;
}

export const DEFAULT_EMULATOR_API_KEY = 'local-dev-key';
const API_PREFIX = '/api/v1';
const ADMIN_PREFIX = '/_emulator';
const MAX_BODY_BYTES = 1024 * 1024;

/** An opportunity's id in an admin path: the store's ids, bounded. */
const ADMIN_OPPORTUNITY = /^\/opportunities\/([A-Za-z0-9_-]{1,64})$/;
const apiKeysSchema = z.object({ keys: z.array(z.string().min(1)).min(1) }).strict();
const requestsQuerySchema = z.object({
  since: z.coerce
    .number({ error: 'must be a non-negative integer' })
    .int({ error: 'must be a non-negative integer' })
    .min(0, { error: 'must be a non-negative integer' })
    .max(Number.MAX_SAFE_INTEGER, { error: 'must be a non-negative integer' })
    .optional(),
  operation: z.string().max(100).optional(),
});

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const now = options.now ?? (() => new Date());
  const store = new EmulatorStore({ file: options.dbFile, now });
  const faults = new FaultInjector(options.faults);
  const log = new RequestLog();
  let apiKeys = new Set(options.apiKeys ?? [DEFAULT_EMULATOR_API_KEY]);

  const seeded =
    options.seed && store.stats().opportunities === 0 ? seedStore(store, options.seed, now()) : undefined;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the emulator itself: answer 500 rather than leave the client hanging.
      if (!res.headersSent)
        send(res, 500, envelope(500, `Emulator error: ${(error as Error).message}`, null, 0));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only requests addressed to loopback: a web page reaching this port through its own host name
    // (DNS rebinding) could otherwise read the data with the well-known local key, or reset it.
    const listening = server.address() as AddressInfo | null;
    if (
      !isLoopbackHost(req.headers.host, listening?.port ?? 0, options.host ?? '127.0.0.1') ||
      !isFromThisMachine(req.socket)
    ) {
      send(
        res,
        403,
        envelope(
          403,
          'Forbidden: the emulator answers only requests from this machine addressed to loopback',
          null,
          0,
        ),
      );
      return;
    }
    // Nor a browser's cross-site request: a page's text/plain POST needs no preflight, and could
    // otherwise reset the data or script faults that dead-letter leads.
    if (isCrossSite(req.headers, listening?.port ?? 0, options.host ?? '127.0.0.1')) {
      send(res, 403, envelope(403, 'Forbidden: the emulator refuses cross-site requests', null, 0));
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://emulator.local');
    } catch {
      send(res, 400, envelope(400, 'Malformed request target', null, 0));
      return;
    }
    const method = req.method ?? 'GET';
    const raw = await readBody(req).catch(() => undefined);
    if (raw === undefined) {
      send(res, 413, envelope(413, 'Request body too large', null, 0));
      return;
    }
    if (url.pathname === ADMIN_PREFIX || url.pathname.startsWith(`${ADMIN_PREFIX}/`)) {
      await handleAdmin(method, url, raw, res);
      return;
    }

    const path = url.pathname.startsWith(`${API_PREFIX}/`)
      ? url.pathname.slice(API_PREFIX.length)
      : undefined;
    let match: ReturnType<typeof matchOperation> | undefined;
    try {
      match = path === undefined ? undefined : matchOperation(method, path);
    } catch {
      // A stray `%` in a path parameter: the client's mistake, said as such.
      send(res, 400, envelope(400, 'Malformed path parameter', null, 0));
      return;
    }
    const key = headerValue(req.headers['x-api-key']);
    const record = log.start({
      method,
      path: url.pathname,
      operation: match?.name ?? null,
      keyId: key ? fingerprint(key) : null,
    });
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}, fault?: string) => {
      // docs/salescaling-openapi.yaml is read and each validator compiled on first use, once per
      // process, so a start does not wait for it (docs/emulator.md, "Start-up").
      // The emulator's own answers to an operation must be what the document says (injected faults
      // are misbehaviour on request, so they are not checked): one that is not is an emulator bug,
      // answered 500 and logged, so the test that met it fails.
      const issues =
        match && fault === undefined ? salescalingContract().checkResponse(match.name, status, body) : [];
      if (issues.length > 0) {
        const message = `Emulator bug: its ${status} answer to ${match?.name} breaks docs/salescaling-openapi.yaml (${describeFieldIssues(boundFieldIssues(issues))})`;
        console.error(message);
        send(res, 500, envelope(500, message, null, 0));
        log.finish(record, { status: 500, outcome: 'answered', fault: null });
        return;
      }
      send(res, status, body, headers);
      log.finish(record, { status, outcome: 'answered', fault: fault ?? null });
    };

    const latency = faults.latencyFor(match?.name);
    if (latency > 0) await sleep(latency);

    if (!key || !apiKeys.has(key)) {
      answer(401, envelope(401, emulatorSemantics.unauthorizedMessage, null, 0));
      return;
    }
    const admission = faults.admit(fingerprint(key), Date.now());
    if (!admission.admitted) {
      answer(
        429,
        envelope(429, 'Too many requests', null, 0),
        { 'retry-after': String(admission.retryAfterSeconds) },
        'rps-limit',
      );
      return;
    }

    const decision = faults.decide(match?.name);
    if (applyFault(decision, 'before', res, record, answer)) return;

    if (!match) {
      answer(404, envelope(404, `No route for ${method} ${url.pathname}`, null, 0));
      return;
    }
    let result: ApiResult;
    try {
      result = handleApi(store, match.name, {
        params: match.params,
        query: url.searchParams,
        body: parseJson(raw),
      });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      answer(error.status, envelope(error.status, error.message, null, 0));
      return;
    }
    if (applyFault(decision, 'after', res, record, answer)) return;
    answer(result.status, envelope(result.status, null, result.data, result.count));
  }

  function applyFault(
    decision: FaultDecision,
    phase: 'before' | 'after',
    res: ServerResponse,
    record: RequestRecord,
    answer: (status: number, body: unknown, headers?: Record<string, string>, fault?: string) => void,
  ): boolean {
    if (decision.kind === 'none') return false;
    if (decision.kind === 'rate-limit') {
      if (phase !== 'before') return false;
      answer(
        429,
        envelope(429, 'Too many requests', null, 0),
        { 'retry-after': String(decision.retryAfterSeconds) },
        'rate-limit',
      );
      return true;
    }
    if (decision.when !== phase) return false;
    const label = `${decision.kind}-${phase}`;
    if (decision.kind === 'error') {
      answer(decision.status, envelope(decision.status, 'Internal server error', null, 0), {}, label);
    } else if (decision.kind === 'hang') {
      // Never answer; the client's timeout (or the server closing) ends it.
      log.finish(record, { status: null, outcome: 'hung', fault: label });
    } else {
      log.finish(record, { status: null, outcome: 'dropped', fault: label });
      res.socket?.destroy();
    }
    return true;
  }

  async function handleAdmin(method: string, url: URL, raw: string, res: ServerResponse): Promise<void> {
    const route = `${method} ${url.pathname.slice(ADMIN_PREFIX.length) || '/'}`;
    const ok = (data: unknown) => send(res, 200, data);
    try {
      const body = () => parseJson(raw) ?? {};
      const opportunity = method === 'GET' ? ADMIN_OPPORTUNITY.exec(route.slice('GET '.length)) : null;
      if (opportunity) {
        // Its status only: what a benchmark counts without a Salescaling call in the request log.
        const record = store.getOpportunity(opportunity[1] as string);
        if (!record) return send(res, 404, { error: `No opportunity ${opportunity[1]}` });
        return ok({ id: record.id, status: record.status ?? null });
      }
      switch (route) {
        case 'GET /health':
          // The thread it runs on (0 is a process's main thread): says where its loop is.
          return ok({ ok: true, threadId });
        case 'GET /faults':
          return ok(faults.snapshot());
        case 'PUT /faults':
          faults.configure(parseAdmin(faultSettingsSchema, body()));
          return ok(faults.snapshot());
        case 'POST /faults/script': {
          const input = body();
          const list = Array.isArray(input) ? input : [input];
          faults.enqueue(parseAdmin(z.array(scriptedFaultSchema), list));
          return ok(faults.snapshot());
        }
        case 'DELETE /faults':
          faults.reset();
          return ok(faults.snapshot());
        case 'GET /requests': {
          const { since, operation } = parseAdmin(requestsQuerySchema, {
            since: url.searchParams.get('since') ?? undefined,
            operation: url.searchParams.get('operation') ?? undefined,
          });
          return ok({
            requests: log.list({ operation, since }),
            stats: log.stats(),
          });
        }
        case 'DELETE /requests':
          log.clear();
          return ok(log.stats());
        case 'GET /stats':
          return ok({ store: store.stats(), requests: log.stats() });
        case 'POST /seed': {
          const summary: SeedSummary = seedStore(store, parseAdmin(seedOptionsSchema, body()), now());
          return ok(summary);
        }
        case 'POST /reset':
          store.reset();
          faults.reset();
          log.clear();
          return ok({ ok: true });
        case 'PUT /api-keys':
          apiKeys = new Set(parseAdmin(apiKeysSchema, body()).keys);
          return ok({ keys: apiKeys.size });
        case 'GET /semantics':
          return ok(emulatorSemantics);
        default:
          return send(res, 404, { error: `No admin route ${route}` });
      }
    } catch (error) {
      send(res, 400, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // Bound to every interface, it is still reached here at loopback (a Host its own check accepts).
  const host = WILDCARDS.has(options.host ?? '') ? '127.0.0.1' : (options.host ?? '127.0.0.1');
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    apiBaseUrl: `${url}${API_PREFIX}/`,
    port,
    store,
    seeded,
    faults,
    log,
    setApiKeys: (keys) => {
      apiKeys = new Set(keys);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      store.close();
    },
  };
}

function envelope(statusCode: number, error: string | null, data: unknown, count: number) {
  return { statusCode, count, error, data };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('too large'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Undefined for an empty body; throws an ApiError (400) for a body that is not JSON. */
function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(emulatorSemantics.validationStatus, 'Invalid body: not valid JSON');
  }
}

function parseAdmin<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new Error(describeFieldIssues(fieldIssues(result.error)));
  return result.data;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Identifies a key in logs without revealing it. */
export function fingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}
