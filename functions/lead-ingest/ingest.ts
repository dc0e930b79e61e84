import { createHash } from 'node:crypto';
import * as z from 'zod';
import { RequestError, ServiceUnavailableError } from '#shared/errors.ts';
import { events } from '#shared/events/catalog.ts';
import { type EventPublisher, publishEvent } from '#shared/events/publisher.ts';
import type { Lead } from '#shared/leads/lead.ts';
import { type FieldMapping, toLead } from './mapping.ts';
import { fromFlatObject, fromTally, fromTypeform, fromWebflow, type Submission } from './providers.ts';
import { type SignedProvider, verifySignature } from './signatures.ts';

/**
 * Accepting one lead: the checks in the order that costs least and reveals least — provider,
 * size, media type, signature (on the raw body), origin, then parsing, honeypot and validation —
 * and only then publishing `Lead Received`. Every refusal is a RequestError (4xx) and publishes
 * nothing; a failure to publish is a ServiceUnavailableError (503), so the sender retries.
 */
export const signedProviders = [
  'typeform',
  'webflow',
  'tally',
  'standard-webhooks',
] as const satisfies readonly SignedProvider[];

const secretList = z.union([
  z
    .string()
    .min(1)
    .transform((s) => [s]),
  z.array(z.string().min(1)),
]);
export const signingSecretsSchema = z
  .object({
    typeform: secretList.optional(),
    webflow: secretList.optional(),
    tally: secretList.optional(),
    'standard-webhooks': secretList.optional(),
  })
  .strict();
export type SigningSecrets = z.output<typeof signingSecretsSchema>;

export interface IngestSettings {
  allowedOrigins: readonly string[];
  honeypotField: string;
  maxBodyBytes: number;
  mapping: FieldMapping;
}

export interface IngestCollaborators {
  /** The signing secrets; `forceRefresh` after a failed check, in case they were just rotated. */
  signingSecrets(options: { forceRefresh: boolean }): Promise<SigningSecrets>;
  publisher: EventPublisher;
}

export interface IngestRequest {
  /** The `{provider}` path segment; undefined for `POST /leads`. */
  provider: string | undefined;
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
  receivedAt: Date;
}

export type IngestOutcome =
  | { kind: 'accepted'; lead: Lead; eventId: string; answer: 'json' | 'redirect' }
  | { kind: 'spam'; answer: 'redirect' | 'json' };

export async function ingestLead(
  request: IngestRequest,
  settings: IngestSettings,
  collaborators: IngestCollaborators,
): Promise<IngestOutcome> {
  const provider = request.provider;
  if (provider !== undefined && !(signedProviders as readonly string[]).includes(provider)) {
    throw new RequestError(404, `Unknown provider "${provider}": use one of ${signedProviders.join(', ')}`);
  }
  if (request.body.length > settings.maxBodyBytes) {
    throw new RequestError(413, `Body larger than ${settings.maxBodyBytes} bytes`);
  }
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const allowedTypes =
    provider === undefined ? ['application/json', 'application/x-www-form-urlencoded'] : ['application/json'];
  if (!allowedTypes.includes(mediaType)) {
    throw new RequestError(
      415,
      `Unsupported media type "${mediaType || '(none)'}": send ${allowedTypes.join(' or ')}`,
    );
  }

  if (provider !== undefined) await checkSignature(provider as SignedProvider, request, collaborators);
  else checkOrigin(request.headers.origin, settings.allowedOrigins);

  const isForm = mediaType === 'application/x-www-form-urlencoded';
  const body = isForm ? parseForm(request.body) : parseJson(request.body);

  // The honeypot: a field people never see. Filled, or missing from an HTML form, means a bot.
  const honeypot = isObject(body) ? body[settings.honeypotField] : undefined;
  const honeypotFilled = honeypot !== undefined && honeypot !== '' && honeypot !== null;
  if (provider === undefined && (honeypotFilled || (isForm && honeypot === undefined))) {
    return { kind: 'spam', answer: isForm ? 'redirect' : 'json' };
  }

  const submission = toSubmission(provider, body, request.headers);
  const lead = toLead(submission, {
    mapping: settings.mapping,
    omit: provider === undefined ? settings.honeypotField : undefined,
    submissionIdFallback: `sha256:${createHash('sha256').update(request.body).digest('hex')}`,
    receivedAt: request.receivedAt,
  });

  let eventId: string;
  try {
    ({ eventId } = await publishEvent(collaborators.publisher, events.leadReceived, lead));
  } catch (cause) {
    throw new ServiceUnavailableError('The lead could not be put on the event bus', { cause });
  }
  return { kind: 'accepted', lead, eventId, answer: isForm ? 'redirect' : 'json' };
}

async function checkSignature(
  provider: SignedProvider,
  request: IngestRequest,
  collaborators: IngestCollaborators,
) {
  for (const forceRefresh of [false, true]) {
    let secrets: SigningSecrets;
    try {
      secrets = await collaborators.signingSecrets({ forceRefresh });
    } catch (cause) {
      throw new ServiceUnavailableError('The signing secrets could not be read', { cause });
    }
    const configured = secrets[provider] ?? [];
    if (configured.length === 0) {
      if (forceRefresh) throw new ServiceUnavailableError(`No signing secret is configured for ${provider}`);
      continue;
    }
    const check = verifySignature(provider, request.body, request.headers, configured, request.receivedAt);
    if (check.valid) return;
    // A stale or malformed signature will not improve with fresher secrets.
    if (forceRefresh || check.reason !== 'signature does not match') {
      throw new RequestError(401, `Invalid signature: ${check.reason}`);
    }
  }
}

function checkOrigin(origin: string | undefined, allowed: readonly string[]): void {
  // Server-to-server senders send no Origin; browsers always do, and must be on the list.
  if (origin === undefined) return;
  const normalized = origin.trim().toLowerCase().replace(/\/+$/, '');
  if (!allowed.some((a) => a.toLowerCase().replace(/\/+$/, '') === normalized)) {
    throw new RequestError(403, `Origin ${origin} is not allowed to post leads`);
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new RequestError(400, 'Body is not valid JSON', {
      fields: [{ field: '(body)', message: 'not valid JSON' }],
    });
  }
}

function parseForm(body: Buffer): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    const existing = form[key];
    form[key] = existing === undefined ? value : [...[existing].flat(), value];
  }
  return form;
}

function toSubmission(
  provider: string | undefined,
  body: unknown,
  headers: IngestRequest['headers'],
): Submission {
  switch (provider) {
    case undefined:
      return fromFlatObject('form', body);
    case 'typeform':
      return fromTypeform(body);
    case 'webflow':
      return fromWebflow(body);
    case 'tally':
      return fromTally(body);
    default:
      // Standard Webhooks: webhook-id is the sender's idempotency key.
      return fromFlatObject('standard-webhooks', body, { submissionId: headers['webhook-id'] });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
