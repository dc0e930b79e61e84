import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import { MAX_STREAM_CLIENTS } from '#local/runtime/console/api.ts';
import type { Activity } from '#local/runtime/console/recorder.ts';
import type { LocalRuntime } from '#local/runtime/runtime.ts';
import { generateSecrets, secretNeedles } from '#local/tools/fuzz/payloads.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { eventually } from '#test/support/eventually.ts';

/**
 * The console against the whole system on loopback: the real runtime and functions, the real
 * emulator (its request log is where the Salescaling calls come from), over real HTTP. The secrets
 * are distinctive, so any that reached the page, the stream or a journey would be found.
 */
const secrets = generateSecrets();
let emulator: RunningEmulator;
let admin: EmulatorAdmin;
let runtime: LocalRuntime;

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: [secrets.salescalingApiKey], seed: { opportunities: 10 } });
  admin = new EmulatorAdmin(emulator.url);
  runtime = await startQuietRuntime({
    emulatorUrl: emulator.url,
    secrets: {
      salescalingApiKey: secrets.salescalingApiKey,
      webhookSigningSecrets: Object.fromEntries(Object.entries(secrets.signing).map(([k, v]) => [k, [v]])),
    },
    platform: { salescalingBaseUrl: emulator.apiBaseUrl, salescalingMaxRps: 50 },
    queueRetryDelayMs: 20,
  });
}, 60_000);

afterAll(async () => {
  await runtime?.close();
  await emulator?.close();
});

const api = (path: string) => `${runtime.console.url}api/${path}`;
const action = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(api(`actions/${path}`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-console-token': runtime.console.token, ...headers },
    body: JSON.stringify(body),
  });
const json = async <T>(response: Response | Promise<Response>) => (await (await response).json()) as T;

interface JourneyBody {
  found: boolean;
  records: Activity[];
  submissionIds: string[];
  commandIds: string[];
  opportunityIds: string[];
  deadLetterQueues: string[];
  opportunities: {
    id: string;
    found: boolean;
    opportunity: Record<string, unknown>;
    contacts: Record<string, unknown>[];
    companies: Record<string, unknown>[];
  }[];
}
const journey = (key: string) => json<JourneyBody>(fetch(api(`journey?key=${encodeURIComponent(key)}`)));

async function sendLead(provider: string, email: string, extra: Record<string, unknown> = {}) {
  const response = await action('lead', {
    provider,
    email,
    firstName: 'Ada',
    lastName: 'Lovelace',
    company: `Engines ${provider}`,
    budget: 24000,
    ...extra,
  });
  expect(response.status).toBe(200);
  return json<{ status: number; submissionId: string }>(response);
}

/** Until the lead's journey holds a completed delivery and its opportunity. */
const synced = (key: string) =>
  eventually(
    () => journey(key),
    (j) =>
      j.records.some((r) => r.kind === 'delivery' && r.status === 'ok') &&
      j.opportunities.some((o) => o.found && o.contacts.length > 0 && o.companies.length > 0),
    30_000,
  );

describe('journeys', () => {
  it.each(['form', 'typeform', 'webflow', 'tally', 'standard-webhooks'])(
    'a %s test lead, signed with the local secret, is accepted and its journey ends in a linked opportunity',
    async (provider) => {
      const email = `ada.${provider}@engines-${provider}.example.com`;
      const sent = await sendLead(provider, email);
      expect(sent.status).toBe(202);
      const j = await synced(sent.submissionId);
      const kinds = j.records.map((r) => r.kind);
      // The request and its answer, Lead Received, the delivery, the calls, the result events, in order.
      const http = j.records.find((r) => r.kind === 'http');
      expect(http?.data.answer).toContain(sent.submissionId);
      expect(http?.status).toBe('202');
      const leadReceived = j.records.find((r) => r.kind === 'bus' && r.data.detailType === 'Lead Received');
      expect(leadReceived?.refs.submissionId).toBe(sent.submissionId);
      const created = j.records.find((r) => r.kind === 'bus' && r.data.detailType === 'Opportunity Created');
      expect(kinds.indexOf('http')).toBeLessThan(j.records.indexOf(leadReceived as Activity));
      const calls = j.records.filter((r) => r.kind === 'salescaling');
      expect(calls.map((c) => c.data.operation)).toEqual(
        expect.arrayContaining([
          'createContact',
          'createCompany',
          'createOpportunity',
          'linkOpportunityContact',
        ]),
      );
      expect(j.records.indexOf(calls[0] as Activity)).toBeLessThan(j.records.indexOf(created as Activity));
      // The opportunity, read back, with the contact and the company linked.
      const [opportunity] = j.opportunities;
      expect(opportunity?.id).toBe(created?.refs.opportunityId);
      expect(opportunity?.opportunity).toMatchObject({ amount: 24000 });
      expect(opportunity?.contacts).toEqual([expect.objectContaining({ email, firstName: 'Ada' })]);
      expect(opportunity?.companies).toEqual([expect.objectContaining({ name: `Engines ${provider}` })]);
      // Found by email too.
      const byEmail = await journey(email.toUpperCase());
      expect(byEmail.submissionIds).toEqual([sent.submissionId]);
    },
    40_000,
  );

  it('shows the 429s, the retries and the waits of a lead whose calls were refused', async () => {
    await admin.scriptFaults([
      { fault: 'rate-limit', operation: 'createOpportunity', retryAfterSeconds: 0, times: 2 },
    ]);
    const sent = await sendLead('typeform', 'grace@retries.example.org', { company: 'Retries Inc' });
    const j = await synced(sent.submissionId);
    const creates = j.records.filter(
      (r) => r.kind === 'salescaling' && r.data.operation === 'createOpportunity',
    );
    expect(creates.map((c) => [c.status, c.data.retry])).toEqual([
      ['429', 0],
      ['429', 1],
      [expect.stringMatching(/^2\d\d$/), 2],
    ]);
    expect(creates[1]?.data.waitMs).toEqual(expect.any(Number));
  }, 40_000);

  it('shows why a command was dead-lettered, and its redrive button redrives it', async () => {
    const put = await action('command', {
      detailType: 'Close Opportunity',
      detail: { schemaVersion: 1, opportunityId: 'not-a-real-id', outcome: 'maybe', reason: 'test' },
    });
    expect(put.status).toBe(200);
    const { commandId } = await json<{ commandId: string }>(put);
    const j = await eventually(
      () => journey(commandId),
      (x) => x.records.some((r) => r.kind === 'dead-letter') && x.records.some((r) => r.kind === 'delivery'),
    );
    const letter = j.records.find((r) => r.kind === 'dead-letter');
    expect(letter?.data.reason).toMatch(/outcome/);
    expect(j.records.some((r) => r.kind === 'bus' && r.data.detailType === 'Command Rejected')).toBe(true);
    expect(j.deadLetterQueues).toEqual(['integration-commands-commands-dlq']);
    const redriven = await json<{ moved: number }>(
      action('redrive', { queue: 'integration-commands-commands-dlq' }),
    );
    expect(redriven.moved).toBeGreaterThanOrEqual(1);
    // Redriven, it is delivered again (and rejected again: the command is still invalid).
    await eventually(
      () => journey(commandId),
      (x) => x.records.filter((r) => r.kind === 'delivery').length >= 2,
    );
  }, 40_000);
});

describe('the live stream', () => {
  it('pushes what happens as it happens, after a backlog', async () => {
    const controller = new AbortController();
    const response = await fetch(api('stream'), { signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    const sent = await sendLead('tally', 'stream@live.example.com');
    let text = '';
    try {
      while (!text.includes(`"submissionId":"${sent.submissionId}"`) || !text.includes('Lead Received')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    } finally {
      controller.abort();
    }
    const records = text
      .split('\n\n')
      .filter((block) => block.startsWith('id: '))
      .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)) as Activity);
    const mine = records.filter((r) => r.refs.submissionId === sent.submissionId);
    expect(mine.map((r) => r.kind)).toEqual(expect.arrayContaining(['http', 'bus']));
    // Sequence numbers only grow: newest last on the wire (the page shows newest first).
    const seqs = records.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  }, 30_000);

  it(`refuses a stream beyond ${MAX_STREAM_CLIENTS} at once`, async () => {
    const controllers = Array.from({ length: MAX_STREAM_CLIENTS }, () => new AbortController());
    try {
      const open = await Promise.all(controllers.map((c) => fetch(api('stream'), { signal: c.signal })));
      expect(open.every((r) => r.status === 200)).toBe(true);
      const refused = await fetch(api('stream'));
      expect(refused.status).toBe(503);
    } finally {
      for (const c of controllers) c.abort();
    }
    await eventually(
      async () => {
        const response = await fetch(api('stream'));
        await response.body?.cancel();
        return response.status;
      },
      (status) => status === 200,
    );
  });

  it('shows a request the gateway throttled, with the 429 its sender got', async () => {
    // GET /health bursts to 10: the next ones are answered by the gateway, never the function.
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${runtime.url}/health`).then((r) => r.status)),
    );
    expect(statuses).toContain(429);
    const http = await json<{ activity: Activity[] }>(fetch(api('activity?kind=http&function=api-health')));
    const throttled = http.activity.filter((a) => a.status === '429');
    expect(throttled.length).toBe(statuses.filter((s) => s === 429).length);
    expect(throttled[0]?.data.answer).toContain('Too Many Requests');
  });

  it('filters by kind, function and any id', async () => {
    const sent = await sendLead('webflow', 'filter@engines.example.com');
    await synced(sent.submissionId);
    const byId = await json<{ activity: Activity[] }>(fetch(api(`activity?id=${sent.submissionId}`)));
    expect(byId.activity.length).toBeGreaterThan(2);
    expect(byId.activity.every((a) => a.ids.includes(sent.submissionId))).toBe(true);
    const deliveries = await json<{ activity: Activity[] }>(
      fetch(api('activity?kind=delivery&function=lead-sync')),
    );
    expect(deliveries.activity.length).toBeGreaterThan(0);
    expect(deliveries.activity.every((a) => a.kind === 'delivery' && a.function === 'lead-sync')).toBe(true);
    const bad = await fetch(api('activity?kind=nonsense'));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('kind');
  }, 40_000);
});

describe('actions', () => {
  it('runs a schedule as a dry run and says what would close', async () => {
    const response = await action('schedule', { name: 'stale-deals', dryRun: true });
    expect(response.status).toBe(200);
    const body = await json<{ ok: boolean; result: { wouldClose: string[]; closed: number } }>(response);
    expect(body.ok).toBe(true);
    expect(body.result.closed).toBe(0);
    expect(body.result.wouldClose.length).toBeGreaterThan(0);
  }, 30_000);

  it('sets and clears emulator faults', async () => {
    const set = await action('faults', { errorRate: 0.25, rateLimitRate: 0.1, latencyMs: 5 });
    expect(set.status).toBe(200);
    expect((await json<{ settings: Record<string, number> }>(fetch(api('faults')))).settings).toMatchObject({
      errorRate: 0.25,
      rateLimitRate: 0.1,
      latencyMs: 5,
    });
    expect((await action('faults', { clear: true })).status).toBe(200);
    expect((await json<{ settings: Record<string, number> }>(fetch(api('faults')))).settings).toMatchObject({
      errorRate: 0,
      rateLimitRate: 0,
      latencyMs: 0,
    });
  });

  it('refuses bad input with a 4xx naming the field, and calls nobody', async () => {
    const before = (await admin.stats()).requests.lastSeq;
    const events = runtime.bus.events.list().length;
    for (const [path, body, field] of [
      ['lead', { provider: 'typeform', email: 'not-an-email' }, 'email'],
      ['lead', { provider: 'carrier-pigeon', email: 'a@b.example.com' }, 'provider'],
      ['command', { detailType: 'Lead Received', detail: {} }, 'detailType'],
      ['schedule', { name: 'stale-deals', dryRun: 'yes' }, 'dryRun'],
      ['redrive', { queue: '' }, 'queue'],
      ['faults', { errorRate: 7 }, 'errorRate'],
    ] as const) {
      const response = await action(path, body);
      expect(response.status, path).toBe(400);
      expect(await response.text(), path).toContain(field);
    }
    expect((await action('schedule', { name: 'nope', dryRun: true })).status).toBe(404);
    expect(runtime.bus.events.list().length).toBe(events);
    expect((await admin.stats()).requests.lastSeq).toBe(before);
  });
});

describe('its guard', () => {
  it('refuses an action without the page token, from another origin, or not as JSON', async () => {
    const lead = { provider: 'form', email: 'csrf@evil.example.com' };
    expect((await action('lead', lead, { 'x-console-token': '' })).status).toBe(403);
    expect((await action('lead', lead, { 'x-console-token': 'x'.repeat(32) })).status).toBe(403);
    expect((await action('lead', lead, { origin: 'https://evil.example.com' })).status).toBe(403);
    expect((await action('lead', lead, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // A cross-site form can send text/plain without a preflight: refused too, even with the token.
    expect((await action('lead', lead, { 'content-type': 'text/plain' })).status).toBe(415);
    expect(runtime.bus.events.list().some((e) => JSON.stringify(e.detail).includes('csrf@evil'))).toBe(false);
  });

  it('answers only requests addressed to loopback (DNS rebinding)', async () => {
    const page = await raw(
      runtime.port,
      `GET /_local/console/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    );
    expect(page.status).toBe(403);
    const ok = await raw(
      runtime.port,
      `GET /_local/console/ HTTP/1.1\r\nHost: 127.0.0.1:${runtime.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(ok.status).toBe(200);
  });

  it('serves the page with a strict content security policy and no secret', async () => {
    const response = await fetch(runtime.console.url);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    expect(html).toContain(`content="${runtime.console.token}"`);
    for (const asset of ['app.js', 'style.css']) {
      expect((await fetch(`${runtime.console.url}${asset}`)).status).toBe(200);
    }
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('never shows a secret: not in the page, the stream, the journeys or the system picture', async () => {
    const sent = await sendLead('standard-webhooks', 'secrets@leak.example.com');
    await synced(sent.submissionId);
    const controller = new AbortController();
    const stream = await fetch(api('stream'), { signal: controller.signal });
    const reader = (stream.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let backlog = '';
    while (!backlog.includes(sent.submissionId)) {
      const { value, done } = await reader.read();
      if (done) break;
      backlog += value;
    }
    controller.abort();
    const texts = [
      backlog,
      await (await fetch(runtime.console.url)).text(),
      await (await fetch(`${runtime.console.url}app.js`)).text(),
      await (await fetch(api('activity?limit=1000'))).text(),
      await (await fetch(api(`journey?key=${sent.submissionId}`))).text(),
      await (await fetch(api('system'))).text(),
      await (await fetch(api('faults'))).text(),
    ];
    expect(backlog).toContain(sent.submissionId);
    for (const needle of secretNeedles(secrets)) {
      for (const text of texts) expect(text.includes(needle)).toBe(false);
    }
  }, 40_000);
});

describe('the system picture', () => {
  it('is drawn from the declaration, with counts on its arrows', async () => {
    const system = await json<{
      routes: { route: string; function: string }[];
      rules: { rule: string; queue: string; function: string }[];
      schedules: { schedule: string; function: string }[];
      counts: Record<string, number>;
      salescalingByFunction: Record<string, number>;
    }>(fetch(api('system')));
    expect(system.routes).toContainEqual({ route: 'POST /leads/{provider}', function: 'lead-ingest' });
    expect(system.rules).toContainEqual(
      expect.objectContaining({
        rule: 'lead-received',
        queue: 'lead-sync-lead-received',
        function: 'lead-sync',
      }),
    );
    expect(system.schedules).toContainEqual(
      expect.objectContaining({ schedule: 'stale-deals', function: 'stale-deals' }),
    );
    expect(system.counts['route:POST /leads/{provider}']).toBeGreaterThan(0);
    expect(system.counts['rule:lead-received']).toBeGreaterThan(0);
    expect(system.counts['put:lead-ingest']).toBeGreaterThan(0);
    expect(system.salescalingByFunction['lead-sync']).toBeGreaterThan(0);
  });
});

/** A raw HTTP/1.1 exchange, for a Host header of our choosing (fetch will not send one). */
async function raw(port: number, request: string): Promise<{ status: number; body: string }> {
  const socket = connect(port, '127.0.0.1');
  socket.write(request);
  let text = '';
  socket.setEncoding('utf8');
  for await (const chunk of socket) text += chunk;
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), body: text };
}
