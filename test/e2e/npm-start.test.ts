import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
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
    const faulty = await fetch(`${emulatorRoot}/_emulator/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ errorRate: 0.2, rateLimitRate: 0.1, retryAfterSeconds: 0, seed: 3 }),
    });
    expect(faulty.status).toBe(200);
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
