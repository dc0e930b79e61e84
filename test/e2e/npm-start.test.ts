import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_STANDARD_WEBHOOKS_SECRET, localConfigFromEnv } from '#local/runtime/config.ts';
import { fixture, signers } from '#test/support/signing.ts';

/** `npm start`'s entry point as its own process: what a person sees and does. */
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['local/runtime/main.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'ERROR', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const waitFor = async (pattern: RegExp) => {
    while (!pattern.test(output)) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${output}`);
      await once(child.stdout ?? child, 'data');
    }
    return output;
  };
  return { child, waitFor, output: () => output };
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('npm start', () => {
  it('starts the emulator and the functions, serves them, and stops cleanly on Ctrl-C', async () => {
    const run = start({ PORT: '0', EMULATOR_PORT: '0', SALESCALING_MAX_RPS: '100' });
    const printed = await run.waitFor(/Press Ctrl-C to stop/);
    expect(printed).toMatch(/Salescaling emulator\s+http:\/\/127\.0\.0\.1:\d+\/api\/v1\//);
    expect(printed).toMatch(/GET \/health\s+→ api-health/);
    const origin = /Functions\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(printed)?.[1];
    const emulatorUrl = /Salescaling emulator\s+(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/)/.exec(printed)?.[1];

    const health = await fetch(`${origin}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', stage: 'local' });
    await run.waitFor(/api-health ← http GET \/health: 200/);

    const seeded = await fetch(`${emulatorUrl}opportunities?limit=100`, {
      headers: { 'x-api-key': 'local-dev-key' },
    });
    expect(((await seeded.json()) as { data: unknown[] }).data).toHaveLength(25);

    // A signed lead from every provider, with the documented local secrets, lands on the bus.
    const localSecrets = {
      typeform: 'local-typeform-secret',
      webflow: 'local-webflow-secret',
      tally: 'local-tally-secret',
      'standard-webhooks': LOCAL_STANDARD_WEBHOOKS_SECRET,
    } as const;
    for (const provider of ['typeform', 'webflow', 'tally', 'standard-webhooks'] as const) {
      const body = fixture(provider);
      const response = await fetch(`${origin}/leads/${provider}`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          ...signers[provider](body, localSecrets[provider], new Date()),
        },
      });
      expect(response.status).toBe(202);
    }
    const forged = await fetch(`${origin}/leads/tally`, {
      method: 'POST',
      body: fixture('tally'),
      headers: { 'content-type': 'application/json', ...signers.tally(fixture('tally'), 'not-the-secret') },
    });
    expect(forged.status).toBe(401);
    const received = (await (
      await fetch(`${origin}/_local/events?detail-type=Lead%20Received`)
    ).json()) as Array<{
      detail: { source: { provider: string } };
    }>;
    expect(received.map((e) => e.detail.source.provider).sort()).toEqual([
      'standard-webhooks',
      'tally',
      'typeform',
      'webflow',
    ]);

    // ... and lead sync turns a lead into one opportunity linked to its contact and company,
    // even while Salescaling (the emulator) fails a share of requests.
    const emulatorRoot = emulatorUrl?.replace(/\/api\/v1\/$/, '') ?? '';
    // Let the four provider leads finish syncing first, so the faults below meet this lead alone.
    for (;;) {
      const events = (await (
        await fetch(`${origin}/_local/events?detail-type=Opportunity%20Created`)
      ).json()) as unknown[];
      if (events.length >= 4) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const admin = (path: string, method: string, body: unknown) =>
      fetch(`${emulatorRoot}/_emulator/${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // The opportunity is created but the answer is lost; linking the contact fails once (the run
    // dies and the queue redelivers it); and a fifth of all requests are rate-limited.
    expect((await admin('faults', 'PUT', { rateLimitRate: 0.2, retryAfterSeconds: 0, seed: 3 })).status).toBe(
      200,
    );
    expect(
      (
        await admin('faults/script', 'POST', [
          { fault: 'drop', when: 'after', operation: 'createOpportunity' },
          { fault: 'error', status: 503, operation: 'linkOpportunityContact', times: 1 },
        ])
      ).status,
    ).toBe(200);
    const posted = await fetch(`${origin}/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'hedy@frequency.example.com',
        name: 'Hedy Lamarr',
        company: 'Frequency Inc',
        deal_name: 'E2E pilot',
      }),
    });
    expect(posted.status).toBe(202);
    // The test's own reads meet the injected faults too: read until the emulator answers 200.
    const api = async (path: string): Promise<Array<Record<string, unknown>>> => {
      for (;;) {
        const r = await fetch(`${emulatorUrl}${path}`, { headers: { 'x-api-key': 'local-dev-key' } });
        if (r.ok) return ((await r.json()) as { data: Array<Record<string, unknown>> }).data;
      }
    };
    let opportunity: Record<string, unknown> | undefined;
    while (!opportunity) {
      opportunity = (await api('opportunities?name=E2E%20pilot')).at(0);
      if (!opportunity) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    let contacts: Array<Record<string, unknown>> = [];
    let companies: Array<Record<string, unknown>> = [];
    while (companies.length === 0) {
      contacts = await api(`opportunities/${opportunity.id}/contacts`);
      companies = await api(`opportunities/${opportunity.id}/companies`);
      if (companies.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await fetch(`${emulatorRoot}/_emulator/faults`, { method: 'DELETE' });
    expect(await api('opportunities?name=E2E%20pilot')).toHaveLength(1);
    expect(await api('contacts?email=hedy%40frequency.example.com')).toHaveLength(1);
    expect(contacts).toEqual([
      expect.objectContaining({ contactEmail: 'hedy@frequency.example.com', contactFirstName: 'Hedy' }),
    ]);
    expect(companies).toEqual([
      expect.objectContaining({ companyName: 'Frequency Inc', companyDomain: 'frequency.example.com' }),
    ]);

    run.child.kill('SIGINT');
    const [code] = await once(run.child, 'exit');
    expect(code).toBe(0);
    expect(run.output()).toMatch(/SIGINT: stopping/);
  });

  it('fires the stale-deal schedule on a seeded emulator: dry run reports, a real run closes exactly the stale deals', async () => {
    const run = start({
      PORT: '0',
      EMULATOR_PORT: '0',
      SALESCALING_MAX_RPS: '100',
      LOCAL_SCHEDULES: 'manual',
    });
    const printed = await run.waitFor(/Press Ctrl-C to stop/);
    const origin = /Functions\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(printed)?.[1];
    const emulatorRoot = /Salescaling emulator\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\//.exec(printed)?.[1];
    expect(printed).toMatch(/schedule stale-deals\s+→ stale-deals cron\(0 6 \* \* \? \*\) Europe\/Madrid/);
    await fetch(`${emulatorRoot}/_emulator/reset`, { method: 'POST' });
    const seeded = (await (
      await fetch(`${emulatorRoot}/_emulator/seed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ opportunities: 40, seed: 9 }),
      })
    ).json()) as { staleOpportunityIds: string[] };
    expect(seeded.staleOpportunityIds.length).toBeGreaterThan(3);
    const statuses = async () => {
      const r = await fetch(`${emulatorRoot}/api/v1/opportunities?limit=100`, {
        headers: { 'x-api-key': 'local-dev-key' },
      });
      return ((await r.json()) as { data: Array<{ id: string; status: string }> }).data;
    };
    const before = await statuses();

    const dry = await fetch(`${origin}/_local/schedules/stale-deals`, { method: 'POST' });
    expect(dry.status).toBe(200);
    const dryResult = ((await dry.json()) as { result: { wouldClose: string[]; closed: number } }).result;
    expect(dryResult.closed).toBe(0);
    expect([...dryResult.wouldClose].sort()).toEqual([...seeded.staleOpportunityIds].sort());
    expect(await statuses()).toEqual(before);

    const real = await fetch(`${origin}/_local/schedules/stale-deals`, {
      method: 'POST',
      body: JSON.stringify({ dryRun: false }),
    });
    expect(((await real.json()) as { result: { closed: number } }).result.closed).toBe(
      seeded.staleOpportunityIds.length,
    );
    const after = await statuses();
    const closed = after
      .filter((o) => o.status === 'lost' && before.find((b) => b.id === o.id)?.status === 'open')
      .map((o) => o.id);
    expect(closed.sort()).toEqual([...seeded.staleOpportunityIds].sort());

    const story = (await (await fetch(`${origin}/_local/events`)).json()) as Array<{
      'detail-type': string;
      detail: Record<string, unknown>;
    }>;
    expect(story.filter((e) => e['detail-type'] === 'Opportunity Closed As Stale')).toHaveLength(
      seeded.staleOpportunityIds.length,
    );
    expect(
      story.filter((e) => e['detail-type'] === 'Stale Sweep Completed').map((e) => e.detail.dryRun),
    ).toEqual([true, false]);
    run.child.kill('SIGINT');
    await once(run.child, 'exit');
  });

  it('applies a command a producer puts on the bus with the AWS SDK, exactly once', async () => {
    const run = start({ PORT: '0', EMULATOR_PORT: '0', LOCAL_SCHEDULES: 'manual' });
    const printed = await run.waitFor(/Press Ctrl-C to stop/);
    const origin = /Functions\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(printed)?.[1] ?? '';
    const emulatorApi = /Salescaling emulator\s+(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/)/.exec(printed)?.[1];
    const bus = new EventBridgeClient({
      endpoint: origin,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const command = {
      EventBusName: 'salescaling-automation-local',
      Source: 'crm.example',
      DetailType: 'Upsert Opportunity',
      Detail: JSON.stringify({
        schemaVersion: 1,
        contact: { email: 'katherine@orbital.example.net' },
        company: { domain: 'orbital.example.net', name: 'Orbital' },
        opportunity: { name: 'Orbital – launch window', amount: 75_000 },
      }),
    };
    let applied: Array<{ detail: { commandId: string; outcome: string } }> = [];
    const answered = async (count: number) => {
      while (applied.length < count) {
        applied = (await (
          await fetch(`${origin}/_local/events?detail-type=Command%20Applied`)
        ).json()) as typeof applied;
        if (applied.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    // The same command sent again once the first is applied (two at once may land in two batches
    // running side by side, as in Lambda, where each finds nothing yet: docs/integrations.md).
    const first = await bus.send(new PutEventsCommand({ Entries: [command] }));
    await answered(1);
    const second = await bus.send(new PutEventsCommand({ Entries: [command] }));
    await answered(2);
    const ids = [first.Entries?.[0]?.EventId, second.Entries?.[0]?.EventId];
    expect(applied.map((e) => [ids.indexOf(e.detail.commandId), e.detail.outcome]).sort()).toEqual([
      [0, 'applied'],
      [1, 'no-change'],
    ]);
    const found = await fetch(`${emulatorApi}opportunities?name=launch%20window`, {
      headers: { 'x-api-key': 'local-dev-key' },
    });
    expect(((await found.json()) as { data: Array<{ amount: number }> }).data).toEqual([
      expect.objectContaining({ amount: 75_000 }),
    ]);
    run.child.kill('SIGINT');
    await once(run.child, 'exit');
  });

  it('says which port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = start({ PORT: String(port), EMULATOR_PORT: '0' });
      const [code] = await once(run.child, 'exit');
      expect(code).toBe(1);
      expect(run.output()).toMatch(
        new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use.*PORT=3001`),
      );
    } finally {
      blocker.close();
    }
  });

  it('names a wrong or missing setting', () => {
    expect(() => localConfigFromEnv({ PORT: 'http' })).toThrow(/PORT/);
    expect(() => localConfigFromEnv({ LOCAL_SCHEDULES: 'sometimes' })).toThrow(/LOCAL_SCHEDULES/);
    expect(() => localConfigFromEnv({ SALESCALING_BASE_URL: 'https://api.salescaling.com/api/v1/' })).toThrow(
      /SALESCALING_API_KEY: is required when SALESCALING_BASE_URL/,
    );
  });
});
