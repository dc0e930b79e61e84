import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_STANDARD_WEBHOOKS_SECRET } from '#local/runtime/config.ts';
import type { BusEvent } from '#local/runtime/event-bus.ts';
import { LOCAL_SIGNING_SECRETS_ID, type LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import type { Lead } from '#shared/leads/lead.ts';
import { eventually } from '#test/support/eventually.ts';
import { fixture, signers } from '#test/support/signing.ts';

/**
 * Lead capture through the local runtime: the deployed ingest handler, its middy stack, the
 * secrets read through the Secrets Manager API and events put through EventBridge's.
 */
const secrets = {
  typeform: ['typeform-old', 'typeform-new'],
  webflow: ['webflow-secret'],
  tally: ['tally-secret'],
  'standard-webhooks': [LOCAL_STANDARD_WEBHOOKS_SECRET],
} as const;
type Provider = keyof typeof secrets;
let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startQuietRuntime({
    secrets: { salescalingApiKey: 'k', webhookSigningSecrets: secrets },
  });
});
beforeEach(() => runtime.bus.events.clear());
afterAll(async () => {
  await runtime?.close();
});

const leads = () =>
  runtime.bus.events.list().filter((e) => e['detail-type'] === 'Lead Received') as Array<
    BusEvent & { detail: Lead }
  >;

async function post(path: string, body: string | Buffer, headers: Record<string, string>) {
  const response = await fetch(`${runtime.url}${path}`, {
    method: 'POST',
    body,
    headers,
    redirect: 'manual',
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
  };
}

const json = { 'content-type': 'application/json' };

describe.each([
  ['typeform', '01JD6Z8K2M4N8P0Q2R4S6T8V0X', 'grace.hopper@cobol.example.org'],
  ['webflow', '6321ca84df3949bfc6752327', 'alan@bletchley.example.co.uk'],
  ['tally', '2wgx4n', 'katherine@orbital.example.net'],
  ['standard-webhooks', 'msg_fixture_1', 'margaret@apollo.example.com'],
] as const)('POST /leads/%s', (provider: Provider, submissionId, email) => {
  const body = fixture(provider);
  const secret = secrets[provider][secrets[provider].length - 1] ?? '';
  const signed = (overrides: { secret?: string; at?: Date; body?: string } = {}) =>
    provider === 'standard-webhooks'
      ? signers[provider](
          overrides.body ?? body,
          overrides.secret ?? secret,
          overrides.at ?? new Date(),
          'msg_fixture_1',
        )
      : signers[provider](overrides.body ?? body, overrides.secret ?? secret, overrides.at ?? new Date());

  it('accepts a correctly signed lead: 202 with its id, and Lead Received on the bus', async () => {
    const response = await post(`/leads/${provider}`, body, { ...json, ...signed() });
    expect(response).toMatchObject({ status: 202, body: { id: submissionId } });
    expect(leads()).toHaveLength(1);
    expect(leads()[0]).toMatchObject({
      source: 'salescaling.automation',
      detail: { submissionId, source: { provider }, contact: { email } },
    });
  });

  it.each([
    [
      'a wrong secret',
      () => ({
        ...json,
        ...signed({
          secret:
            provider === 'standard-webhooks'
              ? `whsec_${Buffer.from('a-different-32-byte-test-secret!').toString('base64')}`
              : 'nope',
        }),
      }),
    ],
    ['no signature headers', () => json],
  ])('refuses %s with 401 and publishes nothing', async (_, headers) => {
    const response = await post(`/leads/${provider}`, body, headers());
    expect(response.status).toBe(401);
    expect(response.body?.message).toMatch(/^Invalid signature/);
    expect(leads()).toEqual([]);
  });

  it('refuses a tampered body with 401', async () => {
    const headers = { ...json, ...signed() };
    const response = await post(`/leads/${provider}`, body.replace('@', '.evil@'), headers);
    expect(response.status).toBe(401);
    expect(leads()).toEqual([]);
  });

  it('refuses a signed body that is not a lead with 400, naming the fields', async () => {
    const junk = JSON.stringify({ hello: 'world' });
    const response = await post(`/leads/${provider}`, junk, { ...json, ...signed({ body: junk }) });
    expect(response.status).toBe(400);
    expect(response.body?.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: expect.any(String) })]),
    );
    expect(leads()).toEqual([]);
  });
});

describe('signed timestamps', () => {
  it.each(['webflow', 'standard-webhooks'] as const)(
    '%s: 6 minutes old or ahead is refused',
    async (provider) => {
      const body = fixture(provider);
      const secret = secrets[provider][0];
      for (const offset of [-6, 6]) {
        const at = new Date(Date.now() + offset * 60_000);
        const response = await post(`/leads/${provider}`, body, {
          ...json,
          ...signers[provider](body, secret, at),
        });
        expect(response.status).toBe(401);
      }
      expect(leads()).toEqual([]);
    },
  );

  it('accepts the previous Typeform secret during a rotation', async () => {
    const body = fixture('typeform');
    const response = await post('/leads/typeform', body, {
      ...json,
      ...signers.typeform(body, 'typeform-old'),
    });
    expect(response.status).toBe(202);
  });
});

describe('POST /leads from HTML forms and JSON senders', () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  it('redirects an accepted form post to the thank-you page (303)', async () => {
    const response = await post('/leads', 'email=ann%40acme.com&first_name=Ann&contact_me_by_fax_only=', {
      ...form,
      origin: runtime.url,
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${runtime.url}/demo/thanks`);
    expect(leads()[0]?.detail).toMatchObject({
      source: { provider: 'form' },
      contact: { email: 'ann@acme.com', firstName: 'Ann' },
    });
  });

  it('answers a filled honeypot exactly like success, and publishes nothing', async () => {
    const response = await post(
      '/leads',
      'email=bot%40spam.example&contact_me_by_fax_only=http%3A%2F%2Fspam',
      {
        ...form,
        origin: runtime.url,
      },
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${runtime.url}/demo/thanks`);
    expect(leads()).toEqual([]);
  });

  it('refuses a browser origin that is not allowed (403)', async () => {
    const response = await post('/leads', 'email=a%40b.co&contact_me_by_fax_only=', {
      ...form,
      origin: 'https://evil.example',
    });
    expect(response.status).toBe(403);
    expect(leads()).toEqual([]);
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${runtime.url}/leads`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    expect((await preflight(runtime.url)).headers.get('access-control-allow-origin')).toBe(runtime.url);
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('accepts JSON: 202 with an id', async () => {
    const response = await post('/leads', JSON.stringify({ email: 'dev@acme.com', company: 'Acme' }), json);
    expect(response.status).toBe(202);
    expect(response.body?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('takes a JSON lead whose website is sent as website_url: a real field, not the honeypot', async () => {
    const response = await post(
      '/leads',
      JSON.stringify({
        submissionId: 'site-1',
        email: 'buyer@bigcorp-hp.com',
        deal_name: 'Real JSON lead',
        website_url: 'https://www.bigcorp-hp.com/about',
      }),
      json,
    );
    expect(response).toMatchObject({ status: 202, body: { id: 'site-1' } });
    expect(leads().map((e) => e.detail.company.domain)).toEqual(['bigcorp-hp.com']);
  });

  it('refuses junk with the right 4xx and publishes nothing', async () => {
    expect((await post('/leads', JSON.stringify({ name: 'no email' }), json)).body).toMatchObject({
      message: 'Invalid lead',
      errors: [expect.objectContaining({ field: 'contact.email' })],
    });
    expect((await post('/leads', '{"email":', json)).status).toBe(400);
    expect((await post('/leads', 'email=a@b.co', { 'content-type': 'text/plain' })).status).toBe(415);
    expect(
      (await post('/leads', JSON.stringify({ email: 'a@b.co', pad: 'x'.repeat(120_000) }), json)).status,
    ).toBe(413);
    expect((await post('/leads/hubspot', '{}', json)).status).toBe(404);
    expect(leads()).toEqual([]);
  });
});

describe("the issue's attacks, over HTTP: a 4xx naming the field, nothing published, never a 5xx", () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const fieldsOf = (response: Awaited<ReturnType<typeof post>>) =>
    (response.body?.errors as Array<{ field: string }> | undefined)?.map((e) => e.field);

  it('an email of 90,000 characters: 413 naming it', async () => {
    const response = await post('/leads', JSON.stringify({ email: `${'a'.repeat(90_000)}@acme.com` }), json);
    expect(response.status).toBe(413);
    expect(fieldsOf(response)).toEqual(['fields.email']);
    expect(leads()).toEqual([]);
  });

  it('a form body of 95,000 control bytes: 413, not a 503 forever', async () => {
    const body = `email=ada%40acme.com&contact_me_by_fax_only=&message=${'\u0001'.repeat(95_000)}`;
    const response = await post('/leads', body, form);
    expect(response.status).toBe(413);
    expect(fieldsOf(response)).toEqual(['fields.message']);
    expect(leads()).toEqual([]);
  });

  it('a budget of "1" + 40,000 spaces + "xxxxx": 413 at once; a normal lead meanwhile is accepted', async () => {
    const [attack, normal] = await Promise.all([
      post('/leads', JSON.stringify({ email: 'ada@acme.com', budget: `1${' '.repeat(40_000)}xxxxx` }), json),
      post('/leads', JSON.stringify({ email: 'grace@cobol.example.org', budget: '$12,500' }), json),
    ]);
    expect(attack.status).toBe(413);
    expect(fieldsOf(attack)).toEqual(['fields.budget']);
    expect(normal.status).toBe(202);
    expect(leads().map((e) => e.detail.opportunity.amount)).toEqual([12_500]);
  });

  it.each([
    [48, 40_000, 1_500],
    [93, 80_000, 2_500],
  ])(
    'a signed Tally body of %i KB repeating an option id: 413, no expansion',
    async (_, optionLength, repeats) => {
      const body = JSON.stringify({
        eventId: `evt-${repeats}`,
        data: {
          fields: [
            { key: 'q1', label: 'Email', type: 'INPUT_EMAIL', value: 'ada@acme.com' },
            {
              key: 'q2',
              label: 'Interest',
              type: 'MULTIPLE_CHOICE',
              value: Array.from({ length: repeats }, () => 'o'),
              options: [{ id: 'o', text: 'x'.repeat(optionLength) }],
            },
          ],
        },
      });
      const response = await post('/leads/tally', body, { ...json, ...signers.tally(body, 'tally-secret') });
      expect(response.status).toBe(413);
      expect(fieldsOf(response)).toEqual(['fields.Interest']);
      expect(leads()).toEqual([]);
    },
  );

  it('form keys named like members of Object.prototype are kept as submitted', async () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
    const body = [
      'email=ada%40acme.com',
      'contact_me_by_fax_only=',
      ...names.map((n) => `${n}=${n}-value`),
    ].join('&');
    expect((await post('/leads', body, { ...form, origin: runtime.url })).status).toBe(303);
    const fields = leads()[0]?.detail.fields ?? {};
    for (const name of names) {
      expect(Object.hasOwn(fields, name), name).toBe(true);
      expect(fields[name]).toBe(`${name}-value`);
    }
  });
});

describe('route throttling', () => {
  it("answers 429 past the route's burst", async () => {
    const statuses = await Promise.all(
      Array.from({ length: 30 }, () =>
        post('/leads', JSON.stringify({ name: 'x' }), json).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 400).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 429 || s === 400)).toBe(true);
  });
});

describe('a signing-secrets secret that is not what it should be', () => {
  // An easy operator mistake: the bare secret instead of {"tally": "<secret>"}. JSON.parse quotes
  // what it reads, so its message must never reach a log line.
  const bare = 'tly_s3cr3t_Q9xZ_not_json_at_all';
  let broken: LocalRuntime;
  const output: string[] = [];
  beforeAll(async () => {
    broken = await startQuietRuntime({
      secrets: { salescalingApiKey: 'k', webhookSigningSecrets: { tally: ['tally-secret'] } },
      platform: { logLevel: 'INFO' },
      functionOutput: (line) => output.push(line),
    });
  });
  afterAll(async () => {
    await broken?.close();
  });

  it.each([
    ['not JSON', bare],
    ['JSON of the wrong shape', JSON.stringify({ tally: { secret: bare }, [bare]: bare })],
  ])('%s: 503 (the operator can fix it), and the value is in no log line', async (_, value) => {
    broken.putSecret(LOCAL_SIGNING_SECRETS_ID, value);
    const body = fixture('tally');
    const response = await fetch(`${broken.url}/leads/tally`, {
      method: 'POST',
      body,
      headers: { ...json, ...signers.tally(body, bare) },
    });
    expect(response.status).toBe(503);
    expect(await response.text()).not.toContain(bare.slice(0, 8));
    // The function's output reaches us after its answer: wait for the warning line.
    const [warning] = await eventually(
      () => output.filter((line) => line.includes('Service unavailable')),
      (lines) => lines.length > 0,
    );
    expect(warning).toEqual(expect.stringContaining(LOCAL_SIGNING_SECRETS_ID));
    expect(output.filter((line) => line.includes(bare.slice(0, 8)))).toEqual([]);
    output.length = 0;
  });
});
