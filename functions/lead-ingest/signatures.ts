import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/**
 * Webhook signatures, checked on the raw body before anything parses it, against every currently
 * valid secret (several during a rotation), with constant-time comparison. Timestamps, where a
 * provider signs one, must be within ±5 minutes of now in both directions.
 */
export type SignedProvider = 'typeform' | 'webflow' | 'tally' | 'standard-webhooks';
export const TIMESTAMP_TOLERANCE_MS = 5 * 60 * 1000;

export type SignatureCheck = { valid: true } | { valid: false; reason: string };

/**
 * The longest signature header read (Standard Webhooks may list several signatures; one is under
 * 100 characters). Longer is malformed, refused before any pattern or library reads it.
 */
const MAX_SIGNATURE_HEADER_LENGTH = 1024;
const SIGNATURE_HEADERS = [
  'typeform-signature',
  'tally-signature',
  'x-webflow-timestamp',
  'x-webflow-signature',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
] as const;

export function verifySignature(
  provider: SignedProvider,
  rawBody: Buffer,
  headers: Readonly<Record<string, string | undefined>>,
  secrets: readonly string[],
  now: Date,
): SignatureCheck {
  if (secrets.length === 0) return { valid: false, reason: 'no signing secret is configured' };
  for (const name of SIGNATURE_HEADERS) {
    if ((headers[name]?.length ?? 0) > MAX_SIGNATURE_HEADER_LENGTH) {
      return {
        valid: false,
        reason: `malformed ${name} header (over ${MAX_SIGNATURE_HEADER_LENGTH} characters)`,
      };
    }
  }
  switch (provider) {
    case 'typeform':
      return verifyTypeform(rawBody, headers['typeform-signature'], secrets);
    case 'tally':
      return verifyTally(rawBody, headers['tally-signature'], secrets);
    case 'webflow':
      return verifyWebflow(
        rawBody,
        headers['x-webflow-timestamp'],
        headers['x-webflow-signature'],
        secrets,
        now,
      );
    case 'standard-webhooks':
      return verifyStandardWebhooks(rawBody, headers, secrets, now);
  }
}

function hmac(secret: string, ...parts: (string | Buffer)[]): Buffer {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Constant-time equality of two byte strings (length is not secret). */
function sameBytes(expected: Buffer, provided: Buffer): boolean {
  return expected.length === provided.length && timingSafeEqual(expected, provided);
}

/** `Typeform-Signature: sha256=<base64 HMAC-SHA256(body)>` */
function verifyTypeform(
  body: Buffer,
  header: string | undefined,
  secrets: readonly string[],
): SignatureCheck {
  if (!header) return { valid: false, reason: 'missing Typeform-Signature header' };
  const match = /^sha256=([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  if (!match?.[1]) return { valid: false, reason: 'malformed Typeform-Signature header' };
  const provided = Buffer.from(match[1], 'base64');
  return secrets.some((secret) => sameBytes(hmac(secret, body), provided))
    ? { valid: true }
    : { valid: false, reason: 'signature does not match' };
}

/** `Tally-Signature: <base64 HMAC-SHA256(body)>` */
function verifyTally(body: Buffer, header: string | undefined, secrets: readonly string[]): SignatureCheck {
  if (!header) return { valid: false, reason: 'missing Tally-Signature header' };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(header.trim()))
    return { valid: false, reason: 'malformed Tally-Signature header' };
  const provided = Buffer.from(header.trim(), 'base64');
  return secrets.some((secret) => sameBytes(hmac(secret, body), provided))
    ? { valid: true }
    : { valid: false, reason: 'signature does not match' };
}

/** `x-webflow-timestamp` (milliseconds) and `x-webflow-signature: <hex HMAC-SHA256("{timestamp}:{body}")>` */
function verifyWebflow(
  body: Buffer,
  timestamp: string | undefined,
  signature: string | undefined,
  secrets: readonly string[],
  now: Date,
): SignatureCheck {
  if (!timestamp || !signature)
    return { valid: false, reason: 'missing x-webflow-timestamp or x-webflow-signature header' };
  if (!/^\d{1,16}$/.test(timestamp.trim()))
    return { valid: false, reason: 'malformed x-webflow-timestamp header' };
  if (!/^[0-9a-f]{64}$/i.test(signature.trim()))
    return { valid: false, reason: 'malformed x-webflow-signature header' };
  // Webflow signs milliseconds; a seconds value would look 50 years old and is refused as stale.
  const skew = Math.abs(now.getTime() - Number(timestamp.trim()));
  if (skew > TIMESTAMP_TOLERANCE_MS)
    return { valid: false, reason: 'timestamp outside the ±5 minute tolerance' };
  const provided = Buffer.from(signature.trim(), 'hex');
  return secrets.some((secret) => sameBytes(hmac(secret, `${timestamp.trim()}:`, body), provided))
    ? { valid: true }
    : { valid: false, reason: 'signature does not match' };
}

/** Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), with the reference library. */
function verifyStandardWebhooks(
  body: Buffer,
  headers: Readonly<Record<string, string | undefined>>,
  secrets: readonly string[],
  now: Date,
): SignatureCheck {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (!id || !timestamp || !signature) {
    return { valid: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
  }
  // The library checks against its own clock; check against ours first so tests and callers agree.
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(now.getTime() - seconds * 1000) > TIMESTAMP_TOLERANCE_MS) {
    return { valid: false, reason: 'timestamp outside the ±5 minute tolerance' };
  }
  let lastReason = 'signature does not match';
  for (const secret of secrets) {
    try {
      // Signature only: the body's JSON is read (and refused with a 400) after the check, not here.
      new Webhook(secret).verify(
        body.toString('utf8'),
        { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature },
        { jsonParse: false },
      );
      return { valid: true };
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) {
        lastReason = 'a configured Standard Webhooks secret is not valid';
        continue;
      }
      lastReason =
        error.message === 'Message timestamp too old' || error.message === 'Message timestamp too new'
          ? 'timestamp outside the ±5 minute tolerance'
          : 'signature does not match';
    }
  }
  return { valid: false, reason: lastReason };
}
