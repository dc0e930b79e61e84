import { describe, expect, it } from 'vitest';
import { type SignedProvider, verifySignature } from '#functions/lead-ingest/signatures.ts';
import { LOCAL_STANDARD_WEBHOOKS_SECRET } from '#local/runtime/config.ts';
import { fixture, signers } from '#test/support/signing.ts';

// The Standard Webhooks library checks timestamps against the real clock, so tests use it too.
const NOW = new Date();
const MIN = 60_000;
const secretFor = (provider: SignedProvider) =>
  provider === 'standard-webhooks' ? LOCAL_STANDARD_WEBHOOKS_SECRET : `${provider}-secret-1`;
const otherSecretFor = (provider: SignedProvider) =>
  provider === 'standard-webhooks'
    ? `whsec_${Buffer.from('another-32-byte-secret-for-tests').toString('base64')}`
    : `${provider}-secret-2`;

describe.each(['typeform', 'webflow', 'tally', 'standard-webhooks'] as const)('%s signatures', (provider) => {
  const body = fixture(provider);
  const raw = Buffer.from(body);
  const sign = (secret = secretFor(provider), at = NOW) => signers[provider](body, secret, at);

  it('accepts a correct signature', () => {
    expect(verifySignature(provider, raw, sign(), [secretFor(provider)], NOW)).toEqual({ valid: true });
  });

  it('refuses a tampered body', () => {
    const tampered = Buffer.from(body.replace('@', '+evil@'));
    expect(verifySignature(provider, tampered, sign(), [secretFor(provider)], NOW)).toEqual({
      valid: false,
      reason: 'signature does not match',
    });
  });

  it('refuses a wrong secret', () => {
    expect(
      verifySignature(provider, raw, sign(otherSecretFor(provider)), [secretFor(provider)], NOW).valid,
    ).toBe(false);
  });

  it('accepts either secret during a rotation', () => {
    const both = [secretFor(provider), otherSecretFor(provider)];
    expect(verifySignature(provider, raw, sign(otherSecretFor(provider)), both, NOW)).toEqual({
      valid: true,
    });
    expect(verifySignature(provider, raw, sign(secretFor(provider)), both, NOW)).toEqual({ valid: true });
  });

  it('refuses missing headers', () => {
    const check = verifySignature(provider, raw, {}, [secretFor(provider)], NOW);
    expect(check).toEqual({ valid: false, reason: expect.stringMatching(/^missing/) });
  });

  it('accepts a correctly signed body that is not JSON: reading it is the parser job (a 400), not a signature failure', () => {
    const notJson = 'this is not json {';
    const headers = signers[provider](notJson, secretFor(provider), NOW);
    expect(verifySignature(provider, Buffer.from(notJson), headers, [secretFor(provider)], NOW)).toEqual({
      valid: true,
    });
  });

  it('refuses when no secret is configured', () => {
    expect(verifySignature(provider, raw, sign(), [], NOW)).toEqual({
      valid: false,
      reason: 'no signing secret is configured',
    });
  });
});

describe.each(['webflow', 'standard-webhooks'] as const)('%s signed timestamps', (provider) => {
  const body = fixture(provider);
  const raw = Buffer.from(body);
  const secret = secretFor(provider);
  const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

  it.each([
    ['4 minutes old', -4 * MIN, true],
    ['4 minutes ahead', 4 * MIN, true],
    ['6 minutes old', -6 * MIN, false],
    ['6 minutes ahead', 6 * MIN, false],
  ])('%s → %s', (_, offset, valid) => {
    const check = verifySignature(provider, raw, signers[provider](body, secret, at(offset)), [secret], NOW);
    expect(check.valid).toBe(valid);
    if (!valid) expect(check).toMatchObject({ reason: 'timestamp outside the ±5 minute tolerance' });
  });
});

describe('Webflow specifics', () => {
  it('refuses a timestamp in seconds (Webflow signs milliseconds)', () => {
    const body = fixture('webflow');
    const seconds = String(Math.floor(NOW.getTime() / 1000));
    const headers = {
      'x-webflow-timestamp': seconds,
      'x-webflow-signature': signers.webflow(body, 'webflow-secret-1', NOW)['x-webflow-signature'] ?? '',
    };
    expect(verifySignature('webflow', Buffer.from(body), headers, ['webflow-secret-1'], NOW)).toMatchObject({
      valid: false,
      reason: 'timestamp outside the ±5 minute tolerance',
    });
  });

  it('refuses malformed signature headers without throwing', () => {
    for (const headers of [
      { 'typeform-signature': 'sha1=abc' },
      { 'typeform-signature': 'sha256=not base64!' },
    ]) {
      expect(verifySignature('typeform', Buffer.from('{}'), headers, ['s'], NOW).valid).toBe(false);
    }
    expect(
      verifySignature(
        'webflow',
        Buffer.from('{}'),
        { 'x-webflow-timestamp': 'x', 'x-webflow-signature': 'y' },
        ['s'],
        NOW,
      ).valid,
    ).toBe(false);
  });
});
