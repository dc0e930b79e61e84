import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IngestRequest, ingestLead } from '#functions/lead-ingest/ingest.ts';
import {
  asAmount,
  asDomain,
  asPercentage,
  asStatusRole,
  companyDomainFromEmail,
  toLead,
} from '#functions/lead-ingest/mapping.ts';
import { fromFlatObject } from '#functions/lead-ingest/providers.ts';
import { rateLimitedRefresh } from '#functions/lead-ingest/secret-refresh.ts';
import { type SignedProvider, verifySignature } from '#functions/lead-ingest/signatures.ts';
import { RequestError } from '#shared/errors.ts';
import type { EventPublisher } from '#shared/events/publisher.ts';
import { domainSchema, LEAD_LIMITS, leadSchema } from '#shared/leads/lead.ts';

/**
 * Every parser on the lead-ingest path is linear in its input: fed 100 KB adversarial strings (long
 * runs of spaces, digits, separators, dots, hyphens, slashes, repeated alternations, with the
 * prefixes and suffixes that make a backtracking pattern fail late), each answers correctly, and a
 * 100 KB input costs no more than a small multiple of a hundred 1 KB inputs. A quadratic parser is
 * a hundred times over that bound (and a backtracking one never returns); raw timings belong in
 * the benchmarks, so no test here has a wall-clock threshold of its own.
 */
const KB = 1024;

// The pieces backtracking patterns choke on: what they repeat, and what makes them fail at the end.
const unit = fc.constantFrom(
  ' ',
  '\t',
  '1',
  '12',
  '1 ',
  '1,',
  ',000',
  ' 000',
  '.',
  '1.',
  'a.',
  'a-',
  '-',
  '--',
  'a',
  'ab',
  '/',
  '//',
  '/\n',
  ':',
  ':1',
  '@',
  'a@',
  'www.',
  'http://',
  '\u0001',
  'k ',
  'sha256=',
  'v1,',
  'v1,a ',
  '=',
  '+/',
);
const edge = fc.constantFrom(
  '',
  '1',
  'x',
  'xxxxx',
  '$',
  '@',
  '!',
  'k',
  '.',
  '-',
  ' ',
  '/',
  ':',
  'a.b',
  '@a.co',
  'http://',
);
const adversarial = fc.record({ prefix: edge, unit, suffix: edge });
const build = ({ prefix, unit, suffix }: { prefix: string; unit: string; suffix: string }, size: number) =>
  prefix +
  unit.repeat(Math.max(1, Math.floor((size - prefix.length - suffix.length) / unit.length))) +
  suffix;

/** Elapsed milliseconds of `run` repeated `times`. */
function elapsed(run: () => unknown, times: number): number {
  const start = performance.now();
  for (let i = 0; i < times; i++) run();
  return performance.now() - start;
}

/**
 * Linear: one call on a `large` input costs at most 10× a hundred calls on its 1/100-sized twin
 * (plus 25 ms for timer and GC noise). The best of three of each, so one slow scheduling slice
 * does not decide.
 */
function expectLinear(
  parse: (input: string) => unknown,
  pieces: Parameters<typeof build>[0],
  size = 100 * KB,
) {
  const small = build(pieces, size / 100);
  const large = build(pieces, size);
  parse(small);
  parse(large); // warm both paths
  const best = (run: () => number) => Math.min(run(), run(), run());
  const smallCost = best(() => elapsed(() => parse(small), 100));
  const largeCost = best(() => elapsed(() => parse(large), 1));
  expect(largeCost, JSON.stringify({ pieces, smallCost, largeCost })).toBeLessThanOrEqual(
    10 * smallCost + 25,
  );
}

const RUNS = 25;

describe('field parsers on 100 KB adversarial strings', () => {
  it('amount: nothing that long is an amount; linear', () => {
    fc.assert(
      fc.property(adversarial, (pieces) => {
        const text = build(pieces, 100 * KB);
        // Whitespace around "1" trims away and leaves an amount; anything longer is none.
        expect(asAmount(text)).toBe(text.trim() === '1' ? 1 : undefined);
        expectLinear(asAmount, pieces);
      }),
      { numRuns: RUNS },
    );
  });

  it('close probability and status (mapped fields): nothing that long is one; linear', () => {
    fc.assert(
      fc.property(adversarial, (pieces) => {
        const text = build(pieces, 100 * KB);
        // Whitespace around "1" trims away and leaves a percentage; anything longer is none.
        expect(asPercentage(text)).toBe(text.trim() === '1' ? 1 : undefined);
        expect(asStatusRole(text)).toBeUndefined();
        expectLinear(asPercentage, pieces);
        expectLinear(asStatusRole, pieces);
      }),
      { numRuns: RUNS },
    );
  });

  it('amount: still reads what it read before', () => {
    const cases: Array<[string, number | undefined]> = [
      ['$50,000', 50_000],
      ['50k', 50_000],
      ['1.5M', 1_500_000],
      ['€ 12 500', 12_500],
      ['25 k', 25_000],
      ['1200 USD', 1_200],
      [`1${' '.repeat(30)}xxxxx`, undefined],
      [`1${' '.repeat(40_000)}xxxxx`, undefined],
      ['call me', undefined],
    ];
    for (const [text, amount] of cases) expect(asAmount(text), text).toBe(amount);
  });

  it('domain and website: nothing that long is a domain; linear', () => {
    fc.assert(
      fc.property(adversarial, (pieces) => {
        const text = build(pieces, 100 * KB);
        expect(asDomain(text)).toBeUndefined();
        expect(domainSchema.safeParse(text).success).toBe(false);
        expect(companyDomainFromEmail(text)).toBeUndefined();
        expectLinear(asDomain, pieces);
        expectLinear((s) => domainSchema.safeParse(s), pieces);
        expectLinear(companyDomainFromEmail, pieces);
      }),
      { numRuns: RUNS },
    );
  });

  it('domain: a website at its longest still reads', () => {
    const label = 'a'.repeat(63);
    const host = `${label}.${label}.${label}.${'b'.repeat(57)}.com`;
    expect(host).toHaveLength(253);
    expect(asDomain(`https://www.${host}:8080/${'p/'.repeat(800)}?q=1`)).toBe(host);
    expect(asDomain(`https://${host}x`)).toBeUndefined();
  });

  it('email: over 254 characters is refused before the pattern; linear', () => {
    const email = leadSchema.unwrap().shape.contact.shape.email;
    fc.assert(
      fc.property(adversarial, (pieces) => {
        const text = build(pieces, 100 * KB);
        const result = email.safeParse(text);
        expect(result.success).toBe(false);
        if (text.trim().length > LEAD_LIMITS.email) {
          expect(result.error?.issues.map((i) => i.code)).toEqual(['too_big']);
        }
        expectLinear((s) => email.safeParse(s), pieces);
      }),
      { numRuns: RUNS },
    );
  });

  it('signature headers: malformed when that long, for every provider; linear', () => {
    const providers: SignedProvider[] = ['typeform', 'tally', 'webflow', 'standard-webhooks'];
    const body = Buffer.from('{}');
    const now = new Date();
    fc.assert(
      fc.property(adversarial, fc.constantFrom(...providers), (pieces, provider) => {
        const check = (value: string) =>
          verifySignature(
            provider,
            body,
            {
              'typeform-signature': value,
              'tally-signature': value,
              'x-webflow-timestamp': value,
              'x-webflow-signature': value,
              'webhook-id': value,
              'webhook-timestamp': value,
              'webhook-signature': value,
            },
            ['secret'],
            now,
          );
        expect(check(build(pieces, 100 * KB))).toMatchObject({
          valid: false,
          reason: expect.stringMatching(/^malformed/),
        });
        expectLinear(check, pieces);
      }),
      { numRuns: RUNS },
    );
  });
});

const receivedAt = new Date('2026-11-28T10:00:00Z');
const MAPPED = [
  'email',
  'name',
  'phone',
  'job_title',
  'company',
  'website',
  'budget',
  'message',
  'deadline',
] as const;

describe('the whole mapping on adversarial fields', () => {
  it('every mapped field at its longest (5,000 characters): a lead or a 4xx naming fields, in linear time', () => {
    fc.assert(
      fc.property(adversarial, (pieces) => {
        const map = (text: string) => {
          const values = Object.fromEntries(
            MAPPED.map((name) => [name, name === 'email' ? `${text}@a.co` : text]),
          );
          try {
            return toLead(fromFlatObject('form', { ...values, submittedAt: text }), {
              mapping: {},
              submissionIdFallback: 'sha256:x',
              receivedAt,
            });
          } catch (error) {
            expect(error).toBeInstanceOf(RequestError);
            expect((error as RequestError).fields.length).toBeGreaterThan(0);
            return error;
          }
        };
        expectLinear(map, pieces, LEAD_LIMITS.fieldValue - 10);
      }),
      { numRuns: RUNS },
    );
  });

  it('adversarial field names (1,000 characters, the limit) are matched against aliases in linear time', () => {
    fc.assert(
      fc.property(adversarial, (pieces) => {
        const map = (name: string) =>
          toLead(fromFlatObject('form', { email: 'ada@acme.com', [name]: 'x', [`${name}email`]: 'y' }), {
            mapping: {},
            submissionIdFallback: 'sha256:x',
            receivedAt,
          });
        expectLinear(map, pieces, LEAD_LIMITS.fieldKey - 10);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the whole ingest path on 100 KB bodies', () => {
  const publisher: EventPublisher = { publish: async () => ({ eventId: 'e' }) };
  const deps = {
    publisher,
    signingSecrets: rateLimitedRefresh(async () => ({ tally: ['t'] }), { now: () => 0 }),
  };
  const settings = {
    allowedOrigins: [],
    honeypotField: 'contact_me_by_fax_only',
    maxBodyBytes: 100 * KB,
    mapping: {},
  };
  const request = (body: string, type: string, provider?: string): IngestRequest => ({
    provider,
    headers: { 'content-type': type },
    body: Buffer.from(body),
    receivedAt,
  });
  /** The status ingestLead answers with (202 when accepted); anything but a RequestError fails the test. */
  const status = (r: IngestRequest) =>
    ingestLead(r, settings, deps).then(
      () => 202,
      (error: unknown) => {
        if (!(error instanceof RequestError)) throw error;
        return error.status;
      },
    );

  it('form posts, JSON and nested JSON made of adversarial text: always a 2xx or a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(adversarial, fc.constantFrom(...MAPPED), async (pieces, field) => {
        const text = build(pieces, 95 * KB);
        const chunk = build(pieces, 4_900);
        const many = Object.fromEntries(MAPPED.map((name) => [name, chunk]));
        const bodies: Array<[string, string]> = [
          [
            `email=a%40b.co&contact_me_by_fax_only=&${field}=${encodeURIComponent(text).slice(0, 95 * KB)}`,
            'application/x-www-form-urlencoded',
          ],
          [text, 'application/x-www-form-urlencoded'],
          [JSON.stringify({ email: 'a@b.co', [field]: text }), 'application/json'],
          [JSON.stringify({ ...many, email: `${chunk}@b.co` }), 'application/json'],
          [`${'['.repeat(45 * KB)}${']'.repeat(45 * KB)}`, 'application/json'],
          [`${'{"data":'.repeat(10 * KB)}{}${'}'.repeat(10 * KB)}`, 'application/json'],
        ];
        for (const [body, type] of bodies) {
          const answer = await status(request(body, type));
          expect([202, 400, 413]).toContain(answer);
        }
        // Signed-route bodies are refused by size or at the signature, before any parsing.
        const signed = await status(request(JSON.stringify({ eventId: text }), 'application/json', 'tally'));
        expect([401, 413]).toContain(signed);
      }),
      { numRuns: RUNS },
    );
  });
});
