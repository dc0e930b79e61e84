import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { fingerprint, type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import { LOCAL_STANDARD_WEBHOOKS_SECRET } from '#local/runtime/config.ts';
import type { DeadLetter, InvocationRecord } from '#local/runtime/records.ts';
import { LOCAL_BUS_NAME, LOCAL_SALESCALING_SECRET_ID, type LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { eventually } from '#test/support/eventually.ts';
import { quiet } from '#test/support/quiet.ts';
import { fixture, signers, standardWebhooksHeaders } from '#test/support/signing.ts';

/**
 * Lead sync as deployed: the lead-sync handler (middy, secrets-manager, Powertools batch and
 * idempotency) behind the local bus and queue, against the emulator over HTTP.
 */
let emulator: RunningEmulator;
let admin: EmulatorAdmin;
let runtime: LocalRuntime;
/** Everything the functions wrote (their logs and EMF metrics). */
const output: string[] = [];
const KEY = 'sk-sync-0f9e8d7c6b5a4f3e';

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: [KEY] });
  admin = new EmulatorAdmin(emulator.url);
  runtime = await startQuietRuntime({
    platform: {
      salescalingBaseUrl: emulator.apiBaseUrl,
      salescalingMaxRps: 200,
      salescalingMaxConcurrency: 8,
      // Warnings are what an operator is told; the tests read them.
      logLevel: 'WARN',
    },
    secrets: {
      salescalingApiKey: KEY,
      webhookSigningSecrets: { 'standard-webhooks': [LOCAL_STANDARD_WEBHOOKS_SECRET] },
    },
    queueRetryDelayMs: 20,
    functionOutput: (line) => output.push(line),
  });
});

beforeEach(async () => {
  await quiet(runtime);
  await admin.reset();
  runtime.bus.events.clear();
  runtime.deadLetters.clear();
  runtime.invocations.clear();
});

afterAll(async () => {
  await runtime?.close();
  await emulator?.close();
});

/** A lead as a sender posts it to `POST /leads` (the only way in: the bus takes our source only from us). */
interface PostedLead {
  submissionId: string;
  email: string;
  firstName: string;
  lastName: string;
  company: string;
  website: string;
  opportunity: string;
  amount: number;
}
const lead = (
  submissionId: string,
  email = 'grace@cobol.example.org',
  name = 'Cobol – 40 seats',
): PostedLead => ({
  submissionId,
  email,
  firstName: 'Grace',
  lastName: 'Hopper',
  company: 'Cobol Industries',
  website: 'cobol.example.org',
  opportunity: name,
  amount: 48_000,
});

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${runtime.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  await response.arrayBuffer();
  return response.status;
}

/** Posts each lead to `POST /leads` at once (as concurrent senders would), each answered 202. */
const putLeads = async (...leads: object[]) => {
  const statuses = await Promise.all(leads.map((l) => post('/leads', JSON.stringify(l))));
  expect(statuses).toEqual(leads.map(() => 202));
};

const syncInvocations = () =>
  runtime.invocations.list().filter((i: InvocationRecord) => i.functionName === 'lead-sync');
const published = (type: string) => runtime.bus.events.list().filter((e) => e['detail-type'] === type);
/** A new lead's three result events are put side by side: wait for all of them, not the first seen. */
const syncedLeads = (count: number) =>
  eventually(
    () => ['Opportunity Created', 'Contact Linked', 'Company Linked'].map((type) => published(type).length),
    (counts) => counts.every((n) => n === count),
  );

describe('lead sync, deployed', () => {
  it('turns a lead into one opportunity linked to its contact and company, and says so on the bus', async () => {
    await putLeads(lead('s-1'));
    await syncedLeads(1);
    expect(emulator.store.stats()).toMatchObject({
      opportunities: 1,
      contacts: 1,
      companies: 1,
      contactLinks: 1,
      companyLinks: 1,
    });
    const [created] = published('Opportunity Created');
    expect(created?.detail).toMatchObject({
      submissionId: 's-1',
      opportunityId: expect.any(String),
      contactId: expect.any(String),
    });
    expect(published('Contact Linked')).toHaveLength(1);
  });

  it('a duplicate delivery makes no Salescaling call and publishes nothing', async () => {
    await putLeads(lead('s-dup'));
    await syncedLeads(1);
    const callsAfterFirst = (await admin.stats()).requests.total;
    const eventsAfterFirst = runtime.bus.events.list().length;
    await putLeads(lead('s-dup'));
    await eventually(syncInvocations, (list) => list.length === 2);
    expect((await admin.stats()).requests.total).toBe(callsAfterFirst);
    expect(runtime.bus.events.list().length).toBe(eventsAfterFirst + 1); // just the second Lead Received
    expect(emulator.store.stats().opportunities).toBe(1);
  });

  it('concurrent deliveries of one lead give one opportunity', async () => {
    await putLeads(lead('s-conc'), lead('s-conc'), lead('s-conc'));
    await syncedLeads(1);
    await eventually(
      () => runtime.queues.find((q) => q.name === 'lead-sync-lead-received')?.depth ?? -1,
      (depth) => depth === 0,
    );
    expect(emulator.store.stats()).toMatchObject({
      opportunities: 1,
      contacts: 1,
      companies: 1,
      contactLinks: 1,
      companyLinks: 1,
    });
    expect(published('Opportunity Created')).toHaveLength(1);
  });

  it('two leads of one contact: one contact, two opportunities', async () => {
    await putLeads(lead('s-a', 'grace@cobol.example.org', 'Seats'));
    await syncedLeads(1);
    await putLeads(lead('s-b', 'GRACE@cobol.example.org', 'Training'));
    await syncedLeads(2);
    expect(emulator.store.stats()).toMatchObject({ contacts: 1, companies: 1, opportunities: 2 });
  });

  it('recovers from a storm of 5xx and 429 without duplicates', async () => {
    await admin.setFaults({ errorRate: 0.25, rateLimitRate: 0.15, retryAfterSeconds: 0, seed: 5 });
    await putLeads(
      lead('s-storm-1', 'a@one.example.com', 'One'),
      lead('s-storm-2', 'b@two.example.com', 'Two'),
    );
    // Both leads end synced: two successful sync invocations' worth of records, nothing dead-lettered.
    await eventually(
      () => emulator.store.stats(),
      (stats) => stats.contactLinks === 2 && stats.companyLinks === 2,
      90_000,
    );
    await eventually(
      () => runtime.queues.find((q) => q.name === 'lead-sync-lead-received')?.depth ?? -1,
      (depth) => depth === 0,
      90_000,
    );
    expect(runtime.deadLetters.list()).toEqual([]);
    await admin.clearFaults();
    // Both leads name the same company: one company, linked twice.
    expect(emulator.store.stats()).toMatchObject({
      opportunities: 2,
      contacts: 2,
      companies: 1,
      contactLinks: 2,
      companyLinks: 2,
    });
    expect((await admin.requests()).some((r) => r.fault !== null)).toBe(true);
    // Which requests the seeded faults hit depends on how the batch's records interleave (they run
    // at once), and a record failed twice waits out growing redelivery delays: allow for that.
  }, 120_000);

  it('dead-letters a lead Salescaling refuses, with the reason, without retrying it', async () => {
    await admin.scriptFaults([{ fault: 'error', status: 422, operation: 'createOpportunity' }]);
    await putLeads(lead('s-bad'));
    const [letter] = await eventually(
      () => runtime.deadLetters.list(),
      (list) => list.length === 1,
    );
    expect(letter).toMatchObject({
      source: 'queue:lead-received',
      functionName: 'lead-sync',
      reason: expect.stringMatching(/^Salescaling refused the lead: .*createOpportunity failed: 422/),
      payload: expect.objectContaining({
        'detail-type': 'Lead Received',
        detail: expect.objectContaining({ submissionId: 's-bad' }),
      }),
    });
    // Not retried: the one invocation finished and left nothing on the queue to redeliver.
    await eventually(syncInvocations, (list) => list.length === 1);
    expect(runtime.queues.find((q) => q.name === 'lead-sync-lead-received')?.depth).toBe(0);
    expect(await admin.requests({ operation: 'createOpportunity' })).toHaveLength(1);
  });

  it('dead-letters an event that is not a valid lead, naming the fields', async () => {
    // Put in process, as a project function with a bug would: outside callers cannot speak as us.
    runtime.bus.put({
      Entries: [
        {
          EventBusName: LOCAL_BUS_NAME,
          Source: 'salescaling.automation',
          DetailType: 'Lead Received',
          Detail: JSON.stringify({ submissionId: 'x' }),
        },
      ],
    });
    const [letter] = await eventually(
      () => runtime.deadLetters.list() as DeadLetter[],
      (list) => list.length === 1,
    );
    expect(letter?.reason).toMatch(/^Not a valid Lead Received detail: .*contact/);
    expect((await admin.stats()).requests.total).toBe(0);
  });

  it('emits its figures as EMF metrics and never writes the API key', async () => {
    await putLeads(lead('s-metrics'));
    await syncedLeads(1);
    await eventually(
      () => output.filter((line) => line.includes('SalescalingCallsPerLead')),
      (lines) => lines.length > 0,
    );
    const emf = output
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const synced = emf.find((m) => 'SalescalingCallsPerLead' in m);
    expect(synced).toMatchObject({
      service: 'salescaling-automation',
      SalescalingCallsPerLead: 7,
      OpportunitiesCreated: 1,
    });
    expect(synced?.SalescalingCalls).toEqual(expect.anything());
    expect(emf.some((m) => m.operation === 'createOpportunity' && m.outcome === '2xx')).toBe(true);
    expect(output.length).toBeGreaterThan(10);
    for (const line of output) expect(line).not.toContain(KEY);
  });
});

describe('ids cannot collide across doors', () => {
  it('an unsigned lead with id msg_X does not shadow a signed Standard Webhooks lead with webhook-id msg_X: both sync', async () => {
    // Anyone may post to /leads and choose its submissionId...
    await putLeads({
      ...lead('msg_X', 'mallory@shadow.example.com', 'Shadow deal'),
      company: 'Shadow Ltd',
      website: 'shadow.example.com',
    });
    await eventually(
      () => published('Opportunity Created'),
      (list) => list.length === 1,
    );
    // ...and then the signed sender's own message with that id arrives.
    const body = JSON.stringify({
      data: {
        email: 'margaret@apollo.example.com',
        first_name: 'Margaret',
        last_name: 'Hamilton',
        company: 'Apollo Software',
        deal_name: 'Apollo – flight software seats',
        amount: 90_000,
      },
    });
    const signed = standardWebhooksHeaders(body, LOCAL_STANDARD_WEBHOOKS_SECRET, new Date(), 'msg_X');
    expect(await post('/leads/standard-webhooks', body, signed)).toBe(202);
    await eventually(
      () => published('Opportunity Created'),
      (list) => list.length === 2,
    );

    const received = published('Lead Received').map(
      (e) => e.detail as { submissionId: string; source: object },
    );
    expect(received).toEqual([
      expect.objectContaining({ submissionId: 'msg_X', source: { provider: 'form' } }),
      expect.objectContaining({ submissionId: 'msg_X', source: { provider: 'standard-webhooks' } }),
    ]);
    expect(emulator.store.stats()).toMatchObject({ opportunities: 2, contacts: 2 });
    const names = emulator.store
      .listOpportunities({}, { page: 1, limit: 10 })
      .map((o) => o.name)
      .sort();
    expect(names).toEqual(['Apollo – flight software seats', 'Shadow deal']);
    expect(runtime.deadLetters.list()).toEqual([]);
  });
});

describe('recovering dead letters', () => {
  it('`npm run redrive` moves a dead-letter queue back to its source, and the leads then sync', async () => {
    // Salescaling refuses our key for a while: each lead fails every receive and is dead-lettered.
    emulator.setApiKeys(['some-other-key']);
    await putLeads(
      lead('s-redrive-1', 'a@one.example.com', 'One'),
      lead('s-redrive-2', 'b@two.example.com', 'Two'),
    );
    const letters = await eventually(
      () => runtime.deadLetters.list(),
      (list) => list.length === 2,
    );
    // Each says why: the function dead-letters on the last delivery itself, with the error.
    // A 401 gets no backoff (not an outage): the local 20 ms redelivery, until the derived count runs out.
    const receives = runtime.queues.find((q) => q.name === 'lead-sync-lead-received')?.maxReceiveCount;
    for (const letter of letters) {
      expect(letter.reason).toMatch(new RegExp(`^Gave up after ${receives} deliveries: .*401`));
    }
    expect(emulator.store.stats().opportunities).toBe(0);

    // The key is fixed; the operator redrives, with the command used in AWS, pointed at the local runtime.
    emulator.setApiKeys([KEY]);
    const child = spawn(process.execPath, ['local/tools/redrive.ts', 'lead-sync-lead-received-dlq'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ENDPOINT_URL: runtime.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      },
    });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(printed).toMatch(/lead-sync-lead-received-dlq: 2 message\(s\) to move/);
    expect(printed).toMatch(/COMPLETED: 2 of 2 moved/);
    expect(code).toBe(0);
    expect(runtime.deadLetters.list()).toEqual([]);
    await eventually(
      () => emulator.store.stats(),
      (stats) => stats.opportunities === 2 && stats.companyLinks === 2,
    );
  });
});

describe('rotating the Salescaling key', () => {
  it('needs no redeploy: a warm function meets a 401, reads the secret afresh once, and carries on', async () => {
    await putLeads(lead('s-before-rotation', 'a@one.example.com', 'Before'));
    // Its batch done, so the sandbox that ran it is idle and warm, and takes the next lead (a batch
    // still running would send the next one to another sandbox, which meets its own 401).
    await eventually(
      () => emulator.store.stats(),
      (stats) => stats.opportunities === 1 && stats.companyLinks === 1,
    );
    await eventually(
      () => runtime.queues.find((q) => q.name === 'lead-sync-lead-received')?.depth,
      (depth) => depth === 0,
    );

    // The operator creates a new key in Salescaling (the old one stops working) and puts it in the secret.
    const rotated = 'sk-sync-rotated-9a8b7c6d5e4f';
    emulator.setApiKeys([rotated]);
    runtime.putSecret(LOCAL_SALESCALING_SECRET_ID, rotated);
    await admin.clearRequests();

    await putLeads(lead('s-after-rotation', 'b@two.example.com', 'After'));
    await eventually(
      () => emulator.store.stats(),
      (stats) => stats.opportunities === 2 && stats.companyLinks === 2,
    );
    const statuses = (await admin.requests()).map((r) => r.status);
    expect(statuses[0]).toBe(401);
    expect(statuses.filter((s) => s === 401)).toHaveLength(1);
    expect(runtime.deadLetters.list()).toEqual([]);
    for (const line of output) expect(line).not.toContain(rotated);
    runtime.putSecret(LOCAL_SALESCALING_SECRET_ID, KEY);
    emulator.setApiKeys([KEY]);
  });
});

describe('rotating the Salescaling key, with both keys valid for a while', () => {
  // Its own runtime, whose functions cache the key for 300 ms instead of five minutes.
  let shortCache: LocalRuntime;
  beforeAll(async () => {
    shortCache = await startQuietRuntime({
      platform: {
        salescalingBaseUrl: emulator.apiBaseUrl,
        salescalingMaxRps: 200,
        salescalingMaxConcurrency: 8,
        salescalingKeyCacheMs: 300,
        logLevel: 'WARN',
      },
      secrets: { salescalingApiKey: KEY },
      queueRetryDelayMs: 20,
      functionOutput: (line) => output.push(line),
    });
  });
  afterAll(async () => {
    await shortCache?.close();
    emulator.setApiKeys([KEY]);
  });

  it('uses the new key once the cache lifetime has passed, with no 401, in a warm sandbox', async () => {
    let n = 0;
    const syncOne = async () => {
      n += 1;
      const response = await fetch(`${shortCache.url}/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(lead(`s-cache-${n}`, `p${n}@cache${n}.example.com`, `Cache ${n}`)),
      });
      await response.arrayBuffer();
      expect(response.status).toBe(202);
      const count = n;
      await eventually(
        () => emulator.store.stats(),
        (stats) => stats.opportunities === count && stats.companyLinks === count,
      );
    };
    await syncOne();

    // Salescaling issues the new key while the old one still works; the operator puts it in the secret.
    const rotated = 'sk-sync-rotated-short-cache-1a2b';
    emulator.setApiKeys([KEY, rotated]);
    shortCache.putSecret(LOCAL_SALESCALING_SECRET_ID, rotated);
    await admin.clearRequests();
    // Leads keep coming; within the cache lifetime their requests switch to the new key.
    await eventually(
      async () => {
        await syncOne();
        return (await admin.requests()).map((r) => r.keyId);
      },
      (keys) => keys.includes(fingerprint(rotated)),
    );
    // Then the old key is revoked: the next lead goes through on the first try.
    emulator.setApiKeys([rotated]);
    const revokedAt = (await admin.requests()).length;
    await syncOne();
    const requests = await admin.requests();
    expect(requests.map((r) => r.status)).not.toContain(401);
    expect(requests.slice(revokedAt).map((r) => r.keyId)).toEqual(
      requests.slice(revokedAt).map(() => fingerprint(rotated)),
    );
    expect(requests.slice(revokedAt).length).toBeGreaterThan(0);
    // The same warm sandbox (the runtime discards one only after a timeout or crash): picked up by
    // the cache expiry, not by a cold start.
    expect(shortCache.invocations.list().map((i) => i.outcome)).not.toContain('error');
    expect(shortCache.deadLetters.list()).toEqual([]);
    for (const line of output) expect(line).not.toContain(rotated);
  });
});

describe('a signed route whose provider has no signing secret here', () => {
  it('is a 404 "not enabled" (not a 503 forever), naming no secret, with a warning for the operator', async () => {
    // This runtime holds a secret for standard-webhooks only.
    const body = fixture('tally');
    const response = await fetch(`${runtime.url}/leads/tally`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...signers.tally(body, 'a-guess') },
    });
    const text = await response.text();
    expect(response.status).toBe(404);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(JSON.parse(text)).toEqual({ message: 'Provider tally is not enabled here' });
    expect(text).not.toContain('webhook-signing-secrets');
    expect(text).not.toContain(LOCAL_STANDARD_WEBHOOKS_SECRET);
    const warning = await eventually(
      () =>
        output
          .filter((line) => line.startsWith('{') && line.includes('no signing secret'))
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      (lines) => lines.length > 0,
    );
    expect(warning[0]).toMatchObject({ level: 'WARN', provider: 'tally' });
    expect(published('Lead Received')).toEqual([]);
  });
});

describe('a lead is a claim from outside: it never rewrites or takes over what the CRM holds', () => {
  const linkedContacts = (id: string) =>
    emulator.store.listOpportunityContacts(id, { page: 1, limit: 10 }).map((l) => l.contactId);
  const linkedCompanies = (id: string) =>
    emulator.store.listOpportunityCompanies(id, { page: 1, limit: 10 }).map((l) => l.companyId);
  // n leads synced: n invocations that finished their batch, and nothing left on the queue (a
  // message counts until its batch is done). A failed attempt retried under load is not a sync.
  const syncsDone = (n: number) =>
    eventually(
      () => ({
        done: syncInvocations().filter((i) => i.outcome === 'ok').length,
        depth: runtime.queues.find((q) => q.name === 'lead-sync-lead-received')?.depth ?? -1,
      }),
      ({ done, depth }) => done >= n && depth === 0,
    );

  it('(a) an anonymous sender naming contact-less deals gets deals of its own; theirs stay unchanged and unlinked', async () => {
    // Someone else's deals with no contact: one lost, one open and bare (created by hand, earlier).
    const lost = emulator.store.createOpportunity({
      name: 'Globex – renewal',
      amount: 2_000,
      description: 'Renewal, 20 seats',
      status: 'lost',
    });
    const bare = emulator.store.createOpportunity(
      { name: 'Initech – pilot', status: 'open' },
      { createdAt: new Date(Date.now() - 3_600_000).toISOString() },
    );
    const attacker = 'adopter7@evil.example';
    await putLeads({ email: attacker, deal_name: 'warmup' });
    await syncsDone(1);
    await putLeads({
      email: attacker,
      deal_name: 'Globex – renewal',
      budget: '1',
      message: 'pwned',
    });
    await syncsDone(2);
    await putLeads({ email: attacker, deal_name: 'Initech – pilot' });
    await syncsDone(3);

    expect(emulator.store.getOpportunity(lost.id)).toEqual(lost);
    expect(emulator.store.getOpportunity(bare.id)).toEqual(bare);
    expect(linkedContacts(lost.id)).toEqual([]);
    expect(linkedContacts(bare.id)).toEqual([]);
    // The attacker's own three deals, linked to the attacker's contact; nothing else changed.
    const [contact] = emulator.store.listContacts({ email: attacker }, { page: 1, limit: 10 });
    const own = emulator.store.listOpportunities({ contactId: contact?.id ?? '' }, { page: 1, limit: 10 });
    expect(own.map((o) => o.name).sort()).toEqual(['Globex – renewal', 'Initech – pilot', 'warmup']);
    expect(own.map((o) => o.id)).not.toContain(lost.id);
    expect(own.map((o) => o.id)).not.toContain(bare.id);
    expect(published('Opportunity Updated')).toEqual([]);
    expect(runtime.deadLetters.list()).toEqual([]);
  });

  it('(b) an anonymous lead with the email and deal name of a signed lead changes nothing that lead wrote', async () => {
    const body = JSON.stringify({
      data: {
        email: 'margaret@apollo.example.com',
        first_name: 'Margaret',
        company: 'Apollo Software',
        website: 'apollo.example.com',
        deal_name: 'Apollo – flight software seats',
        amount: 90_000,
        message: 'Flight software, 40 seats',
      },
    });
    const signed = standardWebhooksHeaders(body, LOCAL_STANDARD_WEBHOOKS_SECRET, new Date(), 'msg_signed_b');
    expect(await post('/leads/standard-webhooks', body, signed)).toBe(202);
    await syncsDone(1);
    const [created] = published('Opportunity Created');
    expect(created).toBeDefined();
    const { opportunityId, contactId, companyId } = (created?.detail ?? {}) as {
      opportunityId: string;
      contactId: string;
      companyId: string;
    };
    const before = emulator.store.getOpportunity(opportunityId);
    expect(before).toMatchObject({ amount: 90_000, description: 'Flight software, 40 seats' });

    await putLeads({
      email: 'margaret@apollo.example.com',
      deal_name: 'Apollo – flight software seats',
      budget: '0',
      message: 'pwned',
      company: 'Evil Corp',
      website: 'evil.example',
    });
    await syncsDone(2);

    expect(emulator.store.getOpportunity(opportunityId)).toEqual(before);
    expect(linkedContacts(opportunityId)).toEqual([contactId]);
    expect(linkedCompanies(opportunityId)).toEqual([companyId]);
    expect(emulator.store.stats().opportunities).toBe(1);
    expect(published('Opportunity Updated')).toEqual([]);
    expect(published('Company Linked')).toHaveLength(1);
  });
});

describe('same door, same id, different lead', () => {
  it('is dead-lettered with a plain reason and a warning, never dropped; a true duplicate still changes nothing', async () => {
    const squatter = {
      submission_id: 'crm-25535',
      email: 'squatter@evil.example',
      deal_name: 'Squatted',
    };
    await putLeads(squatter);
    await eventually(
      () => published('Opportunity Created'),
      (list) => list.length === 1,
    );
    const calls = (await admin.stats()).requests.total;

    // The real sender's lead under the id the squatter took.
    await putLeads({
      submission_id: 'crm-25535',
      email: 'real.buyer@acme.example.com',
      deal_name: 'Acme – 50 seats',
      budget: '50000',
    });
    const [letter] = await eventually(
      () => runtime.deadLetters.list(),
      (list) => list.length === 1,
    );
    expect(letter).toMatchObject({
      functionName: 'lead-sync',
      reason: 'A different lead already used submission id "crm-25535" from form',
      payload: expect.objectContaining({
        detail: expect.objectContaining({
          submissionId: 'crm-25535',
          contact: { email: 'real.buyer@acme.example.com' },
        }),
      }),
    });
    const warning = await eventually(
      () =>
        output
          .filter((line) => line.startsWith('{') && line.includes('crm-25535') && line.includes('"WARN"'))
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      (lines) => lines.length > 0,
    );
    expect(warning[0]).toMatchObject({
      message: 'Lead dead-lettered',
      reason: 'A different lead already used submission id "crm-25535" from form',
      submissionId: 'crm-25535',
      provider: 'form',
    });
    expect((await admin.stats()).requests.total).toBe(calls);

    // The squatter's own lead again (a retry: received later, same content): deduplicated, no letter.
    await putLeads(squatter);
    await eventually(syncInvocations, (list) => list.length === 3);
    expect(runtime.deadLetters.list()).toHaveLength(1);
    expect((await admin.stats()).requests.total).toBe(calls);
    expect(emulator.store.stats()).toMatchObject({ opportunities: 1, contacts: 1 });
    expect(published('Opportunity Created')).toHaveLength(1);
  });
});
