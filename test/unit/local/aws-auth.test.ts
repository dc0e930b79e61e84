import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { SandboxIdentities, type SignedRequest } from '#local/runtime/aws-auth.ts';

/**
 * The runtime's SigV4 check, against requests signed by the SDK's own signer: a sandbox's
 * signature is accepted, anything it did not sign is refused, and other keys are outside callers.
 */
class Sha256 {
  #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.#hash.update(toBuffer(data));
  }
  async digest() {
    return this.#hash.digest();
  }
  reset() {}
}
const toBuffer = (data: string | ArrayBuffer | ArrayBufferView) =>
  typeof data === 'string'
    ? Buffer.from(data)
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

async function signedRequest(
  credentials: { accessKeyId: string; secretAccessKey: string },
  body: string,
  at = new Date(),
): Promise<SignedRequest> {
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'events', sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 3000,
      path: '/',
      query: {},
      headers: {
        host: '127.0.0.1:3000',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSEvents.PutEvents',
      },
      body,
    },
    { signingDate: at },
  );
  return {
    method: 'POST',
    path: '/',
    query: new URLSearchParams(),
    headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: Buffer.from(body),
  };
}

describe('SandboxIdentities', () => {
  const identities = new SandboxIdentities();
  const ingest = identities.issue('lead-ingest');
  const body = JSON.stringify({ Entries: [{ Source: 'salescaling.automation' }] });

  it('issues distinct, random credentials per sandbox', () => {
    const again = identities.issue('lead-ingest');
    expect(again.accessKeyId).not.toBe(ingest.accessKeyId);
    expect(again.secretAccessKey).not.toBe(ingest.secretAccessKey);
    expect(ingest.accessKeyId).toMatch(/^LSBX[0-9A-F]{16}$/);
  });

  it("recognises a sandbox's own signature", async () => {
    expect(await identities.identify(await signedRequest(ingest, body))).toEqual({
      ok: true,
      caller: { kind: 'sandbox', functionName: 'lead-ingest' },
    });
  });

  it('treats any other key as an outside caller', async () => {
    const request = await signedRequest({ accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' }, body);
    expect(await identities.identify(request)).toEqual({ ok: true, caller: { kind: 'outside' } });
  });

  it.each([
    ['a wrong secret', async () => signedRequest({ ...ingest, secretAccessKey: 'guess' }, body)],
    [
      'an edited body',
      async () => ({
        ...(await signedRequest(ingest, body)),
        body: Buffer.from(body.replace('salescaling', 'x')),
      }),
    ],
    [
      'an edited signed header',
      async () => {
        const request = await signedRequest(ingest, body);
        return {
          ...request,
          headers: { ...request.headers, 'x-amz-target': 'secretsmanager.GetSecretValue' },
        };
      },
    ],
    [
      'a dropped signed header',
      async () => {
        const request = await signedRequest(ingest, body);
        const { 'x-amz-target': _, ...headers } = request.headers;
        return { ...request, headers };
      },
    ],
  ])('refuses a sandbox key with %s', async (_, build) => {
    expect(await identities.identify(await build())).toMatchObject({
      ok: false,
      status: 403,
      type: 'InvalidSignatureException',
    });
  });

  it('refuses a signature older than five minutes, as AWS does', async () => {
    const request = await signedRequest(ingest, body, new Date(Date.now() - 6 * 60 * 1000));
    expect(await identities.identify(request)).toMatchObject({ ok: false, message: 'Signature expired.' });
  });

  it('refuses a missing or malformed Authorization header, in linear time', async () => {
    const base = await signedRequest(ingest, body);
    expect(await identities.identify({ ...base, headers: {} })).toMatchObject({
      type: 'MissingAuthenticationTokenException',
    });
    const hostile = `AWS4-HMAC-SHA256 Credential=${'A'.repeat(100_000)}/`;
    const started = performance.now();
    expect(await identities.identify({ ...base, headers: { authorization: hostile } })).toMatchObject({
      type: 'IncompleteSignatureException',
    });
    expect(performance.now() - started).toBeLessThan(100);
  });
});
