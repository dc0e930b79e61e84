import { describe, expect, it } from 'vitest';
import { verifySignature } from '#functions/lead-ingest/signatures.ts';
import {
  type BuildContext,
  categoryNames,
  type FuzzCase,
  generateCases,
  type Wire,
} from '#local/tools/fuzz/cases.ts';
import { judge, SecretScanner, Tally } from '#local/tools/fuzz/check.ts';
import {
  generateSecrets,
  type SignedProvider,
  secretNeedles,
  signedProviders,
} from '#local/tools/fuzz/payloads.ts';

/** The fuzz tool's own machinery (`npm run fuzz` itself runs the whole system; not here). */
const secrets = generateSecrets();
const context: BuildContext = {
  // The Standard Webhooks library checks timestamps against the real clock.
  now: new Date(),
  runtimeUrl: 'http://127.0.0.1:3999',
  secrets,
  emulatorProbeKey: 'fuzz-probe-test',
  dynamoDbUrl: 'http://127.0.0.1:3998',
  tables: {
    sweepRunsTable: 'salescaling-automation-local-sweep-runs',
    budgetTable: 'salescaling-automation-local-budget',
    idempotencyTable: 'salescaling-automation-local-idempotency',
  },
};
const wireText = (wire: Wire): string =>
  wire.target === 'bus'
    ? JSON.stringify(wire.entries)
    : wire.target === 'aws'
      ? JSON.stringify(wire.call)
      : `${wire.method} ${wire.path} ${JSON.stringify(wire.headers)} ${wire.body?.toString('latin1') ?? ''}`;
const built = (cases: readonly FuzzCase[]) =>
  cases.map((c) => ({ category: c.category, description: c.description, text: wireText(c.build(context)) }));

describe('fuzz case generation', () => {
  const size = categoryNames.length * 2;

  it('is the same for the same seed, and differs for another', () => {
    const first = built(generateCases(size, 11));
    expect(built(generateCases(size, 11))).toEqual(first);
    const other = built(generateCases(size, 12));
    expect(other.filter((c, i) => c.text !== first[i]?.text).length).toBeGreaterThan(size / 4);
  });

  it('covers every category in the smallest run, and makes exactly the count asked for', () => {
    const cases = generateCases(categoryNames.length, 1);
    expect(cases).toHaveLength(categoryNames.length);
    expect(new Set(cases.map((c) => c.category))).toEqual(new Set(categoryNames));
    expect(generateCases(7, 1)).toHaveLength(7);
  });

  it('covers every route, provider and attack surface', () => {
    for (const name of [
      'health:hostile',
      'route:wrong-method',
      'route:bad-percent',
      'route:unknown-provider',
      'leads:invalid-json-lead',
      'leads:invalid-form-lead',
      'leads:honeypot',
      'leads:bad-origin',
      'leads:oversize-email',
      'leads:hostile-amount',
      'leads:control-bytes',
      'leads:prototype-keys',
      'tally:option-bomb',
      'bus:forged-project-source',
      'bus:malformed-entries',
      'aws:foreign-host',
      'local:foreign-host',
      'emulator:bad-paging',
      'aws:outsider-calls',
      'aws:bad-signature',
    ])
      expect(categoryNames).toContain(name);
    for (const provider of signedProviders)
      for (const kind of ['no-signature', 'malformed-signature', 'wrong-signature', 'signed-hostile-body'])
        expect(categoryNames).toContain(`${provider}:${kind}`);
  });

  it('never sends a secret (so any secret found in an answer or a log leaked from the system)', () => {
    const scanner = new SecretScanner(secretNeedles(secrets));
    const leaking = built(generateCases(size * 2, 5)).filter((c) => scanner.count(c.text) > 0);
    expect(leaking.map((c) => c.category)).toEqual([]);
  });

  it('signs the signed-hostile bodies correctly and the wrong ones wrongly, as the verifier sees them', () => {
    const cases = generateCases(size * 3, 9).filter((c) =>
      /:(signed-hostile-body|wrong-signature|option-bomb)$/.test(c.category),
    );
    expect(cases.length).toBeGreaterThan(10);
    for (const item of cases) {
      const wire = item.build(context);
      if (wire.target === 'bus' || wire.target === 'aws')
        throw new Error(`${item.category} is not an HTTP case`);
      const provider = wire.path.slice('/leads/'.length) as SignedProvider;
      const check = verifySignature(
        provider,
        wire.body ?? Buffer.alloc(0),
        wire.headers,
        [secrets.signing[provider]],
        context.now,
      );
      expect({ category: item.category, valid: check.valid }).toEqual({
        category: item.category,
        valid: !item.category.endsWith(':wrong-signature'),
      });
    }
  });

  it('addresses the runtime’s own endpoints only with hosts that are not loopback', () => {
    const foreign = generateCases(categoryNames.length * 20, 3).filter((c) =>
      c.category.endsWith(':foreign-host'),
    );
    expect(foreign.length).toBeGreaterThan(0);
    for (const item of foreign) {
      const wire = item.build(context);
      const host = wire.target === 'bus' || wire.target === 'aws' ? '' : (wire.headers.host ?? '');
      const name = host.replace(/:\d+$/, '');
      expect({
        host,
        loopback: name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name),
      }).toEqual({
        host,
        loopback: false,
      });
      expect(host).not.toBe('');
    }
  });
});

describe('fuzz verdicts', () => {
  const answer = (status: number | undefined, extra: { acceptedEntries?: number; error?: string } = {}) => ({
    status,
    durationMs: 1,
    ...extra,
  });

  it('fails every 5xx, whatever was expected', () => {
    for (const expectation of [
      'refused',
      'bad-request',
      'forbidden',
      'spam-or-refused',
      'no-5xx',
      'entries-refused',
      'refused-or-reset',
    ] as const) {
      expect(judge(expectation, answer(500))).toBe('answered 500');
      expect(judge(expectation, answer(503))).toBe('answered 503');
    }
  });

  it('holds each category to its answer', () => {
    expect(judge('refused', answer(413))).toBeUndefined();
    expect(judge('refused', answer(202))).toBe('answered 202, expected a 4xx');
    expect(judge('forbidden', answer(403))).toBeUndefined();
    expect(judge('forbidden', answer(200))).toBe('answered 200, expected 403');
    expect(judge('bad-request', answer(404))).toBe('answered 404, expected 400');
    expect(judge('spam-or-refused', answer(303))).toBeUndefined();
    expect(judge('spam-or-refused', answer(200))).toBe('answered 200, expected 202, 303 or a 4xx');
    expect(judge('no-5xx', answer(204))).toBeUndefined();
    expect(judge('entries-refused', answer(200, { acceptedEntries: 0 }))).toBeUndefined();
    expect(judge('entries-refused', answer(200, { acceptedEntries: 2 }))).toBe(
      '2 entries accepted (HTTP 200)',
    );
  });

  it('fails a request with no answer, except a reset on headers over the server’s limit', () => {
    expect(judge('refused', answer(undefined, { error: 'ECONNRESET' }))).toBe('no answer (ECONNRESET)');
    expect(judge('refused-or-reset', answer(undefined, { error: 'ECONNRESET' }))).toBeUndefined();
    expect(judge('refused-or-reset', answer(undefined, { error: 'no answer in 30 s' }))).toBe(
      'no answer (no answer in 30 s)',
    );
  });

  it('finds a secret in a log line, in any of its forms, and names the line’s source without quoting it', () => {
    const needles = secretNeedles(secrets);
    const scanner = new SecretScanner(needles);
    const tally = new Tally();
    const decoded = Buffer.from(secrets.signing['standard-webhooks'].slice(6), 'base64').toString('latin1');
    tally.logLine('{"level":"INFO","message":"Lead accepted"}', 'lead-ingest stdout', scanner);
    tally.logLine(
      `{"level":"ERROR","error":"bad key ${secrets.salescalingApiKey}"}`,
      'lead-sync stdout',
      scanner,
    );
    tally.logLine(`signing with ${decoded}`, 'runtime', scanner);
    expect(tally.logLines).toBe(3);
    expect(tally.secretsInLogs).toBe(2);
    expect(tally.offences.map((o) => o.description)).toEqual(['lead-sync stdout', 'runtime']);
    expect(JSON.stringify(tally.offences)).not.toContain(secrets.salescalingApiKey);
  });

  it('counts 5xx, unexpected answers and latencies per category', () => {
    const tally = new Tally();
    tally.record('a', 'one', answer(400), judge('refused', answer(400)));
    tally.record('a', 'two', { status: 500, durationMs: 900 }, judge('refused', answer(500)));
    tally.record('b', 'three', answer(202), judge('refused', answer(202)));
    expect(tally.fiveHundreds).toBe(1);
    expect(tally.wrongAnswers).toBe(1);
    expect(tally.byCategory.get('a')?.violations).toBe(1);
    expect(tally.slowest).toEqual({ durationMs: 900, category: 'a', description: 'two' });
    expect(tally.percentile(50)).toBe(1);
    expect(tally.percentile(99)).toBe(900);
  });
});
