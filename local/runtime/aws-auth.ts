import { createHash, createHmac, type Hash, type Hmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * Who is calling the runtime's AWS endpoints. Each function sandbox gets its own credentials (random
 * per runtime start, only in that sandbox's environment); a request signed with them is verified by
 * recomputing its SigV4 signature with `@smithy/signature-v4`, the signer the AWS SDK itself uses.
 * Any other credentials are an outside caller (the developer's CLI, a test, an integration): the
 * runtime cannot check those, and treats them as untrusted.
 */
export type Caller = { kind: 'sandbox'; functionName: string } | { kind: 'outside' };

/** How AWS names a caller in an access-denied message (an outside caller as a stand-in IAM user). */
export function principalArn(caller: Caller, accountId: string): string {
  return caller.kind === 'sandbox'
    ? `arn:aws:sts::${accountId}:assumed-role/${caller.functionName}/${caller.functionName}`
    : `arn:aws:iam::${accountId}:user/outside-caller`;
}

export type Identification =
  | { ok: true; caller: Caller }
  | { ok: false; status: number; type: string; message: string };

export interface SignedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The parts of an HTTP request its signature covers, its URL and body already read. */
export function signedRequest(req: IncomingMessage, url: URL, body: Buffer): SignedRequest {
  return {
    method: req.method ?? 'POST',
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body,
  };
}

/** SigV4's header form, with bounded parts: linear, and nothing unbounded reaches the signer. */
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([A-Za-z0-9]{1,128})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,32})\/aws4_request, ?SignedHeaders=([a-z0-9;-]{1,1024}), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** How far a signature's time may be from now (AWS: five minutes, then "Signature expired"). */
const MAX_SKEW_MS = 5 * 60 * 1000;
const SANDBOX_KEY_PREFIX = 'LSBX';

export class SandboxIdentities {
  readonly #byKey = new Map<string, { functionName: string; secretAccessKey: string }>();

  /** New credentials for one function's sandbox; they exist only in its environment and here. */
  issue(functionName: string): { accessKeyId: string; secretAccessKey: string } {
    const accessKeyId = `${SANDBOX_KEY_PREFIX}${randomBytes(8).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(30).toString('base64');
    this.#byKey.set(accessKeyId, { functionName, secretAccessKey });
    return { accessKeyId, secretAccessKey };
  }

  /** Withdraws credentials issued here (the runtime's own set-up identity, once set-up is done). */
  revoke(accessKeyId: string): void {
    this.#byKey.delete(accessKeyId);
  }

  async identify(request: SignedRequest, now = Date.now()): Promise<Identification> {
    const authorization = header(request.headers, 'authorization');
    if (!authorization) {
      return refuse(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const parts = AUTHORIZATION.exec(authorization);
    if (!parts) {
      return refuse(
        403,
        'IncompleteSignatureException',
        'The Authorization header is not a valid SigV4 header.',
      );
    }
    const [, accessKeyId = '', , region = '', service = '', signedHeaders = '', signature = ''] = parts;
    const sandbox = this.#byKey.get(accessKeyId);
    if (!sandbox) return { ok: true, caller: { kind: 'outside' } };

    const invalid = refuse(
      403,
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided.',
    );
    const date = AMZ_DATE.exec(header(request.headers, 'x-amz-date') ?? '');
    if (!date) return invalid;
    const signingDate = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
    if (Number.isNaN(signingDate.getTime())) return invalid;
    if (Math.abs(now - signingDate.getTime()) > MAX_SKEW_MS) {
      return refuse(403, 'InvalidSignatureException', 'Signature expired.');
    }
    // The signed payload hash, when sent, must be the body's (the signer would trust it as given).
    const payloadHash = header(request.headers, 'x-amz-content-sha256');
    if (
      payloadHash !== undefined &&
      payloadHash !== createHash('sha256').update(request.body).digest('hex')
    ) {
      return invalid;
    }
    const headers: Record<string, string> = {};
    for (const name of signedHeaders.split(';')) {
      const value = header(request.headers, name);
      if (value === undefined) return invalid;
      headers[name] = value;
    }
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(request.query.keys())) {
      const values = request.query.getAll(key);
      query[key] = values.length === 1 ? (values[0] ?? '') : values;
    }
    const signer = new SignatureV4({
      credentials: { accessKeyId, secretAccessKey: sandbox.secretAccessKey },
      region,
      service,
      sha256: NodeSha256,
      applyChecksum: false,
    });
    const hostHeader = headers.host ?? '';
    const signed = await signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: hostHeader.replace(/:\d+$/, ''),
        path: request.path,
        query,
        headers,
        body: request.body,
      },
      { signingDate },
    );
    const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
    const expectedHeaders = /SignedHeaders=([^,]+),/.exec(String(signed.headers.authorization ?? ''))?.[1];
    if (
      expectedHeaders !== signedHeaders ||
      expected.length !== signature.length ||
      !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))
    ) {
      return invalid;
    }
    return { ok: true, caller: { kind: 'sandbox', functionName: sandbox.functionName } };
  }
}

function refuse(status: number, type: string, message: string): Identification {
  return { ok: false, status, type, message };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the signer takes (the SDK's hash-node does the same). */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', typeof secret === 'string' ? secret : bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(typeof data === 'string' ? data : bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.#hash.digest();
  }
  reset(): void {}
}

function bytes(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data)
    ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    : Buffer.from(data);
}
