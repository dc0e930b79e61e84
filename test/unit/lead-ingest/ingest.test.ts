import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type IngestRequest,
  ingestLead,
  ProviderNotEnabledError,
  type SigningSecrets,
} from '#functions/lead-ingest/ingest.ts';
import { rateLimitedRefresh } from '#functions/lead-ingest/secret-refresh.ts';
import { RequestError, ServiceUnavailableError } from '#shared/errors.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { leadSchema } from '#shared/leads/lead.ts';
import { fixture, signers } from '#test/support/signing.ts';

const settings = {
  allowedOrigins: ['https://www.acme.com'],
  honeypotField: 'contact_me_by_fax_only',
  maxBodyBytes: 10_000,
  mapping: {},
};

function collaborators(secrets: SigningSecrets[] = [{ typeform: ['tf-secret'] }], failPublish = false) {
  const published: Array<{ detailType: string; detail: object }> = [];
  const secretReads: boolean[] = [];
  const publisher: EventPublisher = {
    publish: async (detailType, detail) => {
      if (failPublish) throw new Error('bus down');
      published.push({ detailType, detail });
      return { eventId: `evt-${published.length}` };
    },
  };
  return {
    published,
    secretReads,
    deps: {
      publisher,
      // The real rate-limited refresh over a scripted read, on a clock that never moves.
      signingSecrets: rateLimitedRefresh(
        async ({ forceRefresh }) => {
          secretReads.push(forceRefresh);
          return secrets[Math.min(secretReads.length - 1, secrets.length - 1)] ?? {};
        },
        { now: () => 0 },
      ),
    },
  };
}

const request = (
  overrides: Partial<IngestRequest> & { json?: unknown; form?: string } = {},
): IngestRequest => {
  const { json, form, ...rest } = overrides;
  const body =
    form !== undefined ? Buffer.from(form) : Buffer.from(JSON.stringify(json ?? { email: 'ada@acme.com' }));
  return {
    provider: undefined,
    headers: {
      'content-type': form !== undefined ? 'application/x-www-form-urlencoded' : 'application/json',
    },
    body,
    receivedAt: new Date(),
    ...rest,
  };
};

async function refusal(promise: Promise<unknown>): Promise<RequestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RequestError);
  return error as RequestError;
}

describe('checks, in order, each refusing without publishing', () => {
  it('404 for an unknown provider', async () => {
    const c = collaborators();
    expect((await refusal(ingestLead(request({ provider: 'hubspot' }), settings, c.deps))).status).toBe(404);
    expect(c.published).toEqual([]);
  });

  it('413 for an oversized body, before reading secrets', async () => {
    const c = collaborators();
    const big = request({ provider: 'typeform', json: { pad: 'x'.repeat(20_000) } });
    expect((await refusal(ingestLead(big, settings, c.deps))).status).toBe(413);
    expect(c.secretReads).toEqual([]);
  });

  it('415 for anything but JSON (and form posts on /leads)', async () => {
    const c = collaborators();
    for (const [provider, type] of [
      [undefined, 'text/plain'],
      [undefined, undefined],
      ['typeform', 'application/x-www-form-urlencoded'],
      [undefined, 'multipart/form-data; boundary=x'],
    ] as const) {
      const r = request({ provider, headers: type ? { 'content-type': type } : {} });
      expect((await refusal(ingestLead(r, settings, c.deps))).status).toBe(415);
    }
    expect(c.published).toEqual([]);
  });

  it('401 for a bad signature, after one refresh of the secrets', async () => {
    const c = collaborators();
    const body = fixture('typeform');
    const r = request({
      provider: 'typeform',
      body: Buffer.from(body),
      headers: { 'content-type': 'application/json', ...signers.typeform(body, 'wrong') },
    });
    expect((await refusal(ingestLead(r, settings, c.deps))).status).toBe(401);
    expect(c.secretReads).toEqual([false, true]);
    expect(c.published).toEqual([]);
  });

  it('accepts a signature made with a secret rotated in since the last read', async () => {
    const c = collaborators([{ typeform: ['old'] }, { typeform: ['old', 'new'] }]);
    const body = fixture('typeform');
    const r = request({
      provider: 'typeform',
      body: Buffer.from(body),
      headers: { 'content-type': 'application/json', ...signers.typeform(body, 'new') },
    });
    expect(await ingestLead(r, settings, c.deps)).toMatchObject({ kind: 'accepted', answer: 'json' });
    expect(c.secretReads).toEqual([false, true]);
  });

  it('403 for a browser origin not on the list; none (server-to-server) is fine', async () => {
    const c = collaborators();
    const evil = request({ headers: { 'content-type': 'application/json', origin: 'https://evil.example' } });
    expect((await refusal(ingestLead(evil, settings, c.deps))).status).toBe(403);
    const good = request({
      headers: { 'content-type': 'application/json', origin: 'https://www.acme.com/' },
    });
    expect((await ingestLead(good, settings, c.deps)).kind).toBe('accepted');
  });

  it('400 for a body that is not JSON', async () => {
    const c = collaborators();
    const r = request({ body: Buffer.from('{"email":') });
    expect((await refusal(ingestLead(r, settings, c.deps))).fields).toEqual([
      { field: '(body)', message: 'not valid JSON' },
    ]);
  });
});

describe('the honeypot', () => {
  it.each([
    ['filled', 'email=a%40b.co&contact_me_by_fax_only=http%3A%2F%2Fspam.example'],
    ['missing', 'email=a%40b.co'],
  ])('%s on an HTML form: answered like success, not published', async (_, form) => {
    const c = collaborators();
    expect(await ingestLead(request({ form }), settings, c.deps)).toEqual({
      kind: 'spam',
      answer: 'redirect',
    });
    expect(c.published).toEqual([]);
  });

  it('empty on an HTML form: accepted, and not forwarded', async () => {
    const c = collaborators();
    const outcome = await ingestLead(
      request({ form: 'email=a%40acme.com&first_name=Ann&contact_me_by_fax_only=' }),
      settings,
      c.deps,
    );
    expect(outcome).toMatchObject({ kind: 'accepted', answer: 'redirect' });
    expect(JSON.stringify(c.published)).not.toContain('contact_me_by_fax_only');
  });
});

describe('publishing', () => {
  it('publishes one Lead Received with the canonical lead', async () => {
    const c = collaborators();
    await ingestLead(request({ json: { email: 'ADA@acme.com', name: 'Ada Lovelace' } }), settings, c.deps);
    expect(c.published).toHaveLength(1);
    expect(c.published[0]?.detailType).toBe('Lead Received');
    expect(leadSchema.parse(c.published[0]?.detail).contact).toEqual({
      email: 'ada@acme.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
    });
  });

  it('a failure to publish is a 503 (the sender retries), never an answer of success', async () => {
    const c = collaborators(undefined, true);
    await expect(ingestLead(request(), settings, c.deps)).rejects.toBeInstanceOf(ServiceUnavailableError);
  });

  it('a provider with no signing secret is a 404 naming the provider, after one fresh read; no retry would help', async () => {
    const c = collaborators([{ typeform: ['tf-secret'] }]);
    const body = fixture('tally');
    const r = request({
      provider: 'tally',
      body: Buffer.from(body),
      headers: { 'content-type': 'application/json', ...signers.tally(body, 's') },
    });
    const error = await refusal(ingestLead(r, settings, c.deps));
    expect(error).toBeInstanceOf(ProviderNotEnabledError);
    expect(error).toMatchObject({
      status: 404,
      message: 'Provider tally is not enabled here',
      provider: 'tally',
    });
    // The cached read, then one forced read (the secret may just have been set), then no more.
    expect(c.secretReads).toEqual([false, true]);
    await refusal(ingestLead(r, settings, c.deps));
    expect(c.secretReads).toEqual([false, true, false]);
    expect(c.published).toEqual([]);
  });

  it('a provider whose secret was just set is accepted after the fresh read', async () => {
    const c = collaborators([{}, { tally: ['s'] }]);
    const body = fixture('tally');
    const r = request({
      provider: 'tally',
      body: Buffer.from(body),
      headers: { 'content-type': 'application/json', ...signers.tally(body, 's') },
    });
    expect((await ingestLead(r, settings, c.deps)).kind).toBe('accepted');
    expect(c.secretReads).toEqual([false, true]);
  });

  it('failing to read the signing secrets stays a 503: a retry can fix that', async () => {
    const c = collaborators();
    const failing = {
      ...c.deps,
      signingSecrets: rateLimitedRefresh<SigningSecrets>(
        async () => {
          throw new Error('AccessDeniedException');
        },
        { now: () => 0 },
      ),
    };
    const body = fixture('tally');
    const r = request({
      provider: 'tally',
      body: Buffer.from(body),
      headers: { 'content-type': 'application/json', ...signers.tally(body, 's') },
    });
    await expect(ingestLead(r, settings, failing)).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});

describe('properties over arbitrary input', () => {
  const header = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 80 }));
  const contentType = fc.constantFrom(
    undefined,
    'application/json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'application/json; charset=utf-8',
    '',
  );
  const bodyArb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    fc.json().map((text) => Buffer.from(text)),
    fc
      .dictionary(
        fc.constantFrom('email', 'name', 'company', 'contact_me_by_fax_only', 'amount', 'data', 'x'),
        fc.oneof(fc.string(), fc.integer(), fc.emailAddress()),
      )
      .map((object) => Buffer.from(JSON.stringify(object))),
  );

  it('never a 5xx and never a publish for input that is refused; whatever is published is a valid Lead', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(undefined, 'typeform', 'webflow', 'tally', 'standard-webhooks', 'other'),
        contentType,
        fc.record({
          origin: header,
          'typeform-signature': header,
          'tally-signature': header,
          'x-webflow-timestamp': header,
          'x-webflow-signature': header,
          'webhook-id': header,
          'webhook-timestamp': header,
          'webhook-signature': header,
        }),
        bodyArb,
        async (provider, type, headers, body) => {
          const c = collaborators([
            {
              typeform: ['a'],
              webflow: ['b'],
              tally: ['c'],
              'standard-webhooks': ['whsec_dGVzdC1zZWNyZXQtZm9yLXByb3BlcnR5LXRlc3RzIQ=='],
            },
          ]);
          const outcome = await ingestLead(
            { provider, headers: { ...headers, 'content-type': type }, body, receivedAt: new Date() },
            settings,
            c.deps,
          ).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          if ('error' in outcome) {
            expect(outcome.error).toBeInstanceOf(RequestError);
            expect(c.published).toEqual([]);
          } else {
            for (const event of c.published) expect(leadSchema.safeParse(event.detail).success).toBe(true);
            expect(provider).toBeUndefined(); // no signed provider accepts a random signature
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
