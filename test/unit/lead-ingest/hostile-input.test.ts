import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type IngestRequest, ingestLead, MAX_EVENT_ENTRY_BYTES } from '#functions/lead-ingest/ingest.ts';
import { rateLimitedRefresh } from '#functions/lead-ingest/secret-refresh.ts';
import { processRecord } from '#functions/lead-sync/process.ts';
import { RequestError } from '#shared/errors.ts';
import { EVENT_SOURCE } from '#shared/events/catalog.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { type Lead, leadSchema } from '#shared/leads/lead.ts';
import { fixture, signers } from '#test/support/signing.ts';

/**
 * The attacks of issue 14 on the lead-ingest path, one by one, through `ingestLead` with the real
 * mapping, signatures and secret refresh: each is a 4xx naming the field (never a 5xx), publishes
 * nothing, and keys named like Object.prototype's members survive to lead sync.
 */
const settings = {
  allowedOrigins: ['https://www.acme.com'],
  honeypotField: 'contact_me_by_fax_only',
  maxBodyBytes: 100 * 1024,
  mapping: {},
};
const SECRETS = {
  typeform: ['tf'],
  webflow: ['wf'],
  tally: ['ta'],
  'standard-webhooks': ['whsec_dGVzdC1zZWNyZXQtZm9yLWhvc3RpbGUtaW5wdXQh'],
};

function collaborators(now = () => 0) {
  const published: Array<{ detailType: string; detail: object }> = [];
  const reads = { cached: 0, forced: 0 };
  const publisher: EventPublisher = {
    publish: async (detailType, detail) => {
      published.push({ detailType, detail });
      return { eventId: `evt-${published.length}` };
    },
  };
  const signingSecrets = rateLimitedRefresh(
    async ({ forceRefresh }) => {
      reads[forceRefresh ? 'forced' : 'cached'] += 1;
      return SECRETS;
    },
    { now },
  );
  return { published, reads, deps: { publisher, signingSecrets } };
}

type Provider = keyof typeof SECRETS;
const signed = (provider: Provider, body: string, secret = SECRETS[provider][0] ?? ''): IngestRequest => ({
  provider,
  headers: { 'content-type': 'application/json', ...signers[provider](body, secret, new Date()) },
  body: Buffer.from(body),
  receivedAt: new Date(),
});
const unsigned = (body: string | Buffer, type = 'application/json'): IngestRequest => ({
  provider: undefined,
  headers: { 'content-type': type },
  body: Buffer.from(body),
  receivedAt: new Date(),
});

async function refusal(promise: Promise<unknown>): Promise<RequestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RequestError);
  return error as RequestError;
}

describe('bounded: over a limit is a 400 or 413 naming the field, and nothing is published', () => {
  it('an email of 90,000 characters: 413 naming the field (it never reaches a pattern or Salescaling)', async () => {
    const c = collaborators();
    const error = await refusal(
      ingestLead(unsigned(JSON.stringify({ email: `${'a'.repeat(90_000)}@acme.com` })), settings, c.deps),
    );
    expect(error.status).toBe(413);
    expect(error.fields.map((f) => f.field)).toEqual(['fields.email']);
    expect(c.published).toEqual([]);
  });

  it('an email of 300 characters (within a field, over RFC 5321): 400 naming contact.email', async () => {
    const c = collaborators();
    const error = await refusal(
      ingestLead(unsigned(JSON.stringify({ email: `${'a'.repeat(290)}@acme.com` })), settings, c.deps),
    );
    expect(error.status).toBe(400);
    expect(error.fields.map((f) => f.field)).toEqual(['contact.email']);
    expect(c.published).toEqual([]);
  });

  it('a form body of 95,000 control bytes in one field: 413 naming it', async () => {
    const c = collaborators();
    const form = `email=ada%40acme.com&contact_me_by_fax_only=&message=${'\u0001'.repeat(95_000)}`;
    const error = await refusal(
      ingestLead(unsigned(form, 'application/x-www-form-urlencoded'), settings, c.deps),
    );
    expect(error.status).toBe(413);
    expect(error.fields.map((f) => f.field)).toEqual(['fields.message']);
    expect(c.published).toEqual([]);
  });

  it('95,000 control bytes spread over fields within their limits: 413, as the event would pass 256 KB', async () => {
    const c = collaborators();
    const chunks = Array.from({ length: 19 }, (_, i) => `note${i}=${'\u0001'.repeat(5_000)}`);
    const form = ['email=ada%40acme.com', 'contact_me_by_fax_only=', ...chunks].join('&');
    const error = await refusal(
      ingestLead(unsigned(form, 'application/x-www-form-urlencoded'), settings, c.deps),
    );
    expect(error.status).toBe(413);
    expect(error.message).toContain(`at most ${MAX_EVENT_ENTRY_BYTES}`);
    expect(error.fields[0]?.field).toMatch(/^fields\.note\d+$/);
    expect(c.published).toEqual([]);
  });

  it('a published lead always fits: the largest accepted form stays under the entry limit as sent', async () => {
    const c = collaborators();
    // Just under the refusal: plain text, every field at its limit, as many as the body allows.
    const chunks = Array.from({ length: 19 }, (_, i) => `note${i}=${'x'.repeat(5_000)}`);
    await ingestLead(
      unsigned(
        ['email=ada%40acme.com', 'contact_me_by_fax_only=', ...chunks].join('&'),
        'application/x-www-form-urlencoded',
      ),
      settings,
      c.deps,
    );
    const [event] = c.published;
    const size =
      Buffer.byteLength(EVENT_SOURCE) +
      Buffer.byteLength(event?.detailType ?? '') +
      Buffer.byteLength(JSON.stringify(event?.detail));
    expect(size).toBeGreaterThan(95_000);
    expect(size).toBeLessThanOrEqual(MAX_EVENT_ENTRY_BYTES);
  });

  it('a signed Tally body of 48 KB repeating a long option id: 413 at the first item, not an 80 MB lead', async () => {
    const c = collaborators();
    const body = tallyRepeating({ optionLength: 40_000, repeats: 1_500 });
    expect(body.length).toBeGreaterThan(45_000);
    expect(body.length).toBeLessThan(50_000);
    const error = await refusal(ingestLead(signed('tally', body), settings, c.deps));
    expect(error.status).toBe(413);
    expect(error.fields.map((f) => f.field)).toEqual(['fields.Interest']);
    expect(c.published).toEqual([]);
  });

  it('the same at 93 KB: 413, never "Invalid string length"', async () => {
    const c = collaborators();
    const body = tallyRepeating({ optionLength: 80_000, repeats: 2_500 });
    expect(body.length).toBeGreaterThan(90_000);
    const error = await refusal(ingestLead(signed('tally', body), settings, c.deps));
    expect(error.status).toBe(413);
    expect(c.published).toEqual([]);
  });

  it('option ids within each limit but expanding past the budget together: 413 while being built', async () => {
    const c = collaborators();
    const fields = Array.from({ length: 60 }, (_, i) => ({
      key: `q${i}`,
      label: `Choice ${i}`,
      type: 'CHECKBOXES',
      value: Array.from({ length: 100 }, () => 'o'),
      options: [{ id: 'o', text: 'x'.repeat(999) }],
    }));
    const body = JSON.stringify({
      eventId: 'e',
      data: { fields: [{ key: 'e', label: 'Email', type: 'INPUT_EMAIL', value: 'a@acme.com' }, ...fields] },
    });
    expect(body.length).toBeLessThan(settings.maxBodyBytes);
    const error = await refusal(ingestLead(signed('tally', body), settings, c.deps));
    expect(error.status).toBe(413);
    expect(error.fields[0]?.message).toMatch(/together are at most/);
  });

  it('more than 100 fields: 413', async () => {
    const c = collaborators();
    const json = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, 'x']));
    const error = await refusal(
      ingestLead(unsigned(JSON.stringify({ email: 'ada@acme.com', ...json })), settings, c.deps),
    );
    expect(error.status).toBe(413);
    expect(error.fields).toEqual([{ field: '(body)', message: 'more than 100 fields' }]);
  });

  it.each([
    ['firstName', { first_name: 'x'.repeat(101) }, 'contact.firstName'],
    ['phone', { phone: '1'.repeat(51) }, 'contact.phone'],
    ['jobTitle', { job_title: 'x'.repeat(201) }, 'contact.jobTitle'],
    ['company name', { company: 'x'.repeat(201) }, 'company.name'],
    ['formName', { formName: 'x'.repeat(301) }, 'source.formName'],
    ['submissionId', { submissionId: 'x'.repeat(301) }, 'submissionId'],
  ])('a %s over its limit: 400 naming it', async (_, extra, field) => {
    const c = collaborators();
    const error = await refusal(
      ingestLead(unsigned(JSON.stringify({ email: 'ada@acme.com', ...extra })), settings, c.deps),
    );
    expect(error.status).toBe(400);
    expect(error.fields.map((f) => f.field)).toEqual([field]);
  });

  it('a list of more than 100 values, or a field name over 1,000 characters: 413 naming the field', async () => {
    const c = collaborators();
    const many = await refusal(
      ingestLead(
        unsigned(JSON.stringify({ email: 'a@acme.com', tags: Array(101).fill('t') })),
        settings,
        c.deps,
      ),
    );
    expect(many.fields).toEqual([{ field: 'fields.tags', message: 'at most 100 values' }]);
    const long = await refusal(
      ingestLead(
        unsigned(JSON.stringify({ email: 'a@acme.com', ['k'.repeat(1_001)]: 'v' })),
        settings,
        c.deps,
      ),
    );
    expect(long.status).toBe(413);
    expect(long.fields[0]?.field).toBe(`fields.${'k'.repeat(100)}…`);
    expect(c.published).toEqual([]);
  });

  it('a budget of "1" + 40,000 spaces + "xxxxx": 413 naming it; with 4,900 spaces, no amount (and no wait)', async () => {
    const c = collaborators();
    const budget = (spaces: number) =>
      JSON.stringify({ email: 'ada@acme.com', budget: `1${' '.repeat(spaces)}xxxxx` });
    const error = await refusal(ingestLead(unsigned(budget(40_000)), settings, c.deps));
    expect(error.fields.map((f) => f.field)).toEqual(['fields.budget']);
    expect((await ingestLead(unsigned(budget(4_900)), settings, c.deps)).kind).toBe('accepted');
    expect(leadSchema.parse(c.published[0]?.detail).opportunity.amount).toBeUndefined();
  });
});

describe('deeply nested values in signed bodies', () => {
  const deep = `${'['.repeat(40_000)}${']'.repeat(40_000)}`;

  it('a Tally list value nested 40,000 deep: answered (its items are not text), never a stack overflow', async () => {
    const c = collaborators();
    const body = `{"eventId":"deep","data":{"fields":[{"key":"e","label":"Email","type":"INPUT_EMAIL","value":"ada@acme.com"},{"key":"q","label":"Interest","type":"CHECKBOXES","value":[${deep}]}]}}`;
    expect((await ingestLead(signed('tally', body), settings, c.deps)).kind).toBe('accepted');
    expect(leadSchema.parse(c.published[0]?.detail).fields.Interest).toEqual(['']);
  });

  it('Typeform choice labels nested 40,000 deep: the same', async () => {
    const c = collaborators();
    const body = `{"event_id":"deep","form_response":{"answers":[{"type":"email","email":"ada@acme.com","field":{"id":"e","type":"email"}},{"type":"choices","choices":{"labels":[${deep}]},"field":{"id":"q","type":"multiple_choice"}}]}}`;
    expect((await ingestLead(signed('typeform', body), settings, c.deps)).kind).toBe('accepted');
  });
});

describe('wrong signatures are cheap', () => {
  it('100 concurrent wrong signatures: every one a 401, at most one forced read of the secrets', async () => {
    const c = collaborators();
    const body = fixture('typeform');
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () =>
        refusal(ingestLead(signed('typeform', body, 'wrong'), settings, c.deps)),
      ),
    );
    expect(outcomes.every((e) => e.status === 401)).toBe(true);
    expect(c.reads.forced).toBe(1);
    expect(c.published).toEqual([]);
  });

  it('100 sequential wrong signatures within the interval: one forced read; after it, one more', async () => {
    let now = 0;
    const c = collaborators(() => now);
    const body = fixture('webflow');
    for (let i = 0; i < 100; i++) {
      expect((await refusal(ingestLead(signed('webflow', body, 'wrong'), settings, c.deps))).status).toBe(
        401,
      );
    }
    expect(c.reads.forced).toBe(1);
    now += 10_000;
    await refusal(ingestLead(signed('webflow', body, 'wrong'), settings, c.deps));
    expect(c.reads.forced).toBe(2);
  });
});

describe('keys are data', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'] as const;
  const value = (name: string) => `value of ${name}`;
  /** A JSON object text with these keys (an object literal would set `__proto__` as the prototype). */
  const objectText = (members: ReadonlyArray<readonly [string, unknown]>) =>
    `{${members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  const named = NAMES.map((name) => [name, value(name)] as const);

  /** What lead sync receives: the event as sent, parsed from JSON by its record processor. */
  async function throughLeadSync(detail: object): Promise<Lead> {
    let synced: Lead | undefined;
    await processRecord({ body: JSON.stringify({ detail }), messageId: 'm' } as SQSRecord, {
      sync: async (lead) => {
        synced = lead;
        return { opportunity: 'created', opportunityId: 'o', contactId: 'c', changed: [], calls: 0 } as never;
      },
      deadLetter: async (_, reason) => {
        throw new Error(`dead-lettered: ${reason}`);
      },
      maxReceiveCount: 5,
    });
    if (!synced) throw new Error('not synced');
    return synced;
  }

  async function expectKept(request: IngestRequest) {
    const c = collaborators();
    expect((await ingestLead(request, settings, c.deps)).kind).toBe('accepted');
    const detail = c.published[0]?.detail as Lead;
    const sent = JSON.parse(JSON.stringify(detail)) as Lead;
    for (const lead of [detail, sent, await throughLeadSync(detail)]) {
      for (const name of NAMES) {
        expect(Object.hasOwn(lead.fields, name), name).toBe(true);
        expect(lead.fields[name]).toBe(value(name));
      }
      expect(Object.keys(lead.fields).filter((k) => k.includes('('))).toEqual([]);
    }
  }

  it('why the Lead model does not use z.record for fields: zod drops a `__proto__` key', () => {
    const parsed = z.record(z.string(), z.string()).parse(JSON.parse(objectText(named)));
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false);
    const lead = leadSchema.parse({
      schemaVersion: 1,
      submissionId: 's',
      source: { provider: 'form' },
      submittedAt: '2026-11-28T10:00:00.000Z',
      receivedAt: '2026-11-28T10:00:00.000Z',
      contact: { email: 'ada@acme.com' },
      company: {},
      opportunity: {},
      fields: JSON.parse(objectText(named)),
    });
    for (const name of NAMES) expect(lead.fields[name]).toBe(value(name));
  });

  it('an HTML form', async () => {
    const form = [
      'email=ada%40acme.com',
      'contact_me_by_fax_only=',
      ...named.map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
    ];
    await expectKept(unsigned(form.join('&'), 'application/x-www-form-urlencoded'));
  });

  it('JSON on /leads, flat and nested under data', async () => {
    await expectKept(unsigned(objectText([['email', 'ada@acme.com'], ...named])));
    await expectKept(unsigned(`{"data":${objectText([['email', 'ada@acme.com'], ...named])}}`));
  });

  it('Standard Webhooks', async () => {
    await expectKept(
      signed('standard-webhooks', `{"data":${objectText([['email', 'ada@acme.com'], ...named])}}`),
    );
  });

  it('Webflow (labels)', async () => {
    const data = objectText([['Email', 'ada@acme.com'], ...named]);
    await expectKept(
      signed('webflow', `{"triggerType":"form_submission","payload":{"id":"w1","data":${data}}}`),
    );
  });

  it('Tally (keys and labels, and a type named like a member)', async () => {
    const fields = [
      { key: 'e', label: 'Email', type: 'INPUT_EMAIL', value: 'ada@acme.com' },
      ...named.map(([k, v]) => ({ key: k, label: k, type: k, value: v })),
    ];
    await expectKept(signed('tally', JSON.stringify({ eventId: 't1', data: { fields } })));
  });

  it('Typeform (field ids, and an answer type named like a member)', async () => {
    const answers = [
      { type: 'email', email: 'ada@acme.com', field: { id: 'e', type: 'email' } },
      ...named.map(
        ([k, v]) =>
          `{"type":"text","text":${JSON.stringify(v)},"field":{"id":${JSON.stringify(k)},"type":${JSON.stringify(k)}}}`,
      ),
    ];
    const body = `{"event_id":"tf1","form_response":{"answers":[${answers.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(',')}]}}`;
    await expectKept(signed('typeform', body));
  });

  it('Typeform hidden fields named like members are kept too', async () => {
    const hidden = objectText(named);
    const body = `{"event_id":"tf2","form_response":{"hidden":${hidden},"answers":[{"type":"email","email":"ada@acme.com","field":{"id":"e","type":"email"}}]}}`;
    const c = collaborators();
    await ingestLead(signed('typeform', body), settings, c.deps);
    const lead = await throughLeadSync(c.published[0]?.detail as object);
    for (const name of NAMES) expect(lead.fields[name]).toBe(value(name));
  });

  it('a form id named like a member reads no mapping from Object.prototype', async () => {
    const c = collaborators();
    const body = objectText([
      ['email', 'ada@acme.com'],
      ['formId', 'constructor'],
      ['formName', '__proto__'],
    ]);
    const outcome = await ingestLead(unsigned(body), settings, c.deps);
    expect(outcome.kind).toBe('accepted');
    expect(leadSchema.parse(c.published[0]?.detail).source).toEqual({
      provider: 'form',
      formId: 'constructor',
      formName: '__proto__',
    });
  });
});

function tallyRepeating({ optionLength, repeats }: { optionLength: number; repeats: number }): string {
  return JSON.stringify({
    eventId: 'evt-repeat',
    data: {
      submissionId: 'repeat',
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
}
