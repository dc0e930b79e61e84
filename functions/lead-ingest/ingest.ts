import { createHash } from 'node:crypto';
import * as z from 'zod';
import { RequestError, ServiceUnavailableError } from '#shared/errors.ts';
import { EVENT_SOURCE, events } from '#shared/events/catalog.ts';
import { type EventPublisher, publishEvent } from '#shared/events/publisher.ts';
import type { LeadField } from '#shared/leads/field-mapping.ts';
import { LEAD_LIMITS, type Lead } from '#shared/leads/lead.ts';
import { type FieldMapping, toLead } from './mapping.ts';
import { fromFlatObject, fromTally, fromTypeform, fromWebflow, type Submission } from './providers.ts';
import type { SecretSource } from './secret-refresh.ts';
import { type SignedProvider, verifySignature } from './signatures.ts';

/**
 * Accepting one lead: the checks in the order that costs least and reveals least — provider,
 * size, media type, signature (on the raw body), origin, then parsing, honeypot and validation —
 * and only then publishing `Lead Received`. Every refusal is a RequestError (4xx) and publishes
 * nothing; a failure to publish, or to read the signing secrets, is a ServiceUnavailableError (503),
 * so the sender retries. A provider with no signing secret is a 404 (ProviderNotEnabledError): no
 * retry can fix that, only the operator.
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

/**
 * The signing-secrets secret's value, read as JSON and checked. A wrong value is an operator's
 * mistake whose message must not carry the value: JSON.parse and zod quote what they read, so
 * neither error travels (as a message or a cause) into a log line; only where it is wrong does.
 */
export function readSigningSecrets(value: unknown, secretId: string): SigningSecrets {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(`The secret ${secretId} is not JSON: put {"<provider>": "<secret>" or [...]}`);
    }
  }
  const result = signingSecretsSchema.safeParse(parsed);
  if (!result.success) {
    const where = result.error.issues.map((issue) => issue.path.join('.') || '(top level)').slice(0, 10);
    throw new Error(
      `The secret ${secretId} is not an object of provider → secret or list of secrets (see ${where.join(', ')}); providers: ${signedProviders.join(', ')}`,
    );
  }
  return result.data;
}

/** A signed route whose provider has no signing secret here: the deployment does not take its leads. */
export class ProviderNotEnabledError extends RequestError {
  readonly provider: SignedProvider;
  constructor(provider: SignedProvider) {
    // Names no secret: the sender learns only that this door is closed.
    super(404, `Provider ${provider} is not enabled here`);
    this.provider = provider;
  }
}

export interface IngestSettings {
  allowedOrigins: readonly string[];
  honeypotField: string;
  maxBodyBytes: number;
  mapping: FieldMapping;
}

export interface IngestCollaborators {
  /** The signing secrets, re-read after a mismatch at most once per provider per interval. */
  signingSecrets: SecretSource<SigningSecrets>;
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
  | {
      kind: 'accepted';
      lead: Lead;
      eventId: string;
      answer: 'json' | 'redirect';
      /** Mapped fields whose value did not parse and was left out of the lead (kept in its raw fields). */
      dropped: LeadField[];
    }
  | { kind: 'spam'; answer: 'redirect' | 'json' };

export async function ingestLead(
  request: IngestRequest,
  settings: IngestSettings,
  collaborators: IngestCollaborators,
): Promise<IngestOutcome> {
  const provider = request.provider;
  if (provider !== undefined && !(signedProviders as readonly string[]).includes(provider)) {
    throw new RequestError(
      404,
      `Unknown provider "${provider.slice(0, 100)}": use one of ${signedProviders.join(', ')}`,
    );
  }
  if (request.body.length > settings.maxBodyBytes) {
    throw new RequestError(413, `Body larger than ${settings.maxBodyBytes} bytes`);
  }
  const mediaType = mediaTypeOf(request.headers['content-type']);
  const allowedTypes =
    provider === undefined ? ['application/json', 'application/x-www-form-urlencoded'] : ['application/json'];
  if (!allowedTypes.includes(mediaType)) {
    throw new RequestError(
      415,
      `Unsupported media type "${mediaType.slice(0, 100) || '(none)'}": send ${allowedTypes.join(' or ')}`,
    );
  }

  if (provider !== undefined) await checkSignature(provider as SignedProvider, request, collaborators);
  else checkOrigin(request.headers.origin, settings.allowedOrigins);

  const isForm = mediaType === 'application/x-www-form-urlencoded';
  const body = isForm ? parseForm(request.body) : parseJson(request.body);

  // The honeypot: a field people never see. Filled, or missing from an HTML form, means a bot.
  const honeypot =
    isObject(body) && Object.hasOwn(body, settings.honeypotField) ? body[settings.honeypotField] : undefined;
  const honeypotFilled = honeypot !== undefined && honeypot !== '' && honeypot !== null;
  if (provider === undefined && (honeypotFilled || (isForm && honeypot === undefined))) {
    return { kind: 'spam', answer: isForm ? 'redirect' : 'json' };
  }

  const submission = toSubmission(provider, body, request.headers);
  const dropped: LeadField[] = [];
  const lead = toLead(submission, {
    dropped,
    mapping: settings.mapping,
    omit: provider === undefined ? settings.honeypotField : undefined,
    submissionIdFallback: `sha256:${createHash('sha256').update(request.body).digest('hex')}`,
    receivedAt: request.receivedAt,
  });

  checkEventSize(lead);

  let eventId: string;
  try {
    ({ eventId } = await publishEvent(collaborators.publisher, events.leadReceived, lead));
  } catch (cause) {
    throw new ServiceUnavailableError('The lead could not be put on the event bus', { cause });
  }
  return { kind: 'accepted', lead, eventId, answer: isForm ? 'redirect' : 'json', dropped };
}

async function checkSignature(
  provider: SignedProvider,
  request: IngestRequest,
  collaborators: IngestCollaborators,
) {
  const read = async <T>(secrets: () => Promise<T>): Promise<T> => {
    try {
      return await secrets();
    } catch (cause) {
      throw new ServiceUnavailableError('The signing secrets could not be read', { cause });
    }
  };
  const cached = await read(() => collaborators.signingSecrets.current());
  const first = attempt(provider, request, cached);
  if (first === 'valid') return;
  if (first !== 'mismatch' && first !== 'unconfigured')
    throw new RequestError(401, `Invalid signature: ${first}`);
  // A mismatch, or no secret yet: perhaps the secrets were just rotated or set. A stale or
  // malformed signature never gets here: fresher secrets would not help it.
  const fresh = await read(() => collaborators.signingSecrets.afterMismatch(provider));
  const second = fresh === undefined ? first : attempt(provider, request, fresh);
  if (second === 'valid') return;
  // Still none after the (rate-limited) fresh read: a retry cannot fix it, the operator can.
  if (second === 'unconfigured') throw new ProviderNotEnabledError(provider);
  throw new RequestError(
    401,
    `Invalid signature: ${second === 'mismatch' ? 'signature does not match' : second}`,
  );
}

function attempt(
  provider: SignedProvider,
  request: IngestRequest,
  secrets: SigningSecrets,
): 'valid' | 'mismatch' | 'unconfigured' | (string & {}) {
  const configured = secrets[provider] ?? [];
  if (configured.length === 0) return 'unconfigured';
  const check = verifySignature(provider, request.body, request.headers, configured, request.receivedAt);
  if (check.valid) return 'valid';
  return check.reason === 'signature does not match' ? 'mismatch' : check.reason;
}

/** The longest Origin compared (a scheme, a host of 253 and a port, with room); longer is refused. */
const MAX_ORIGIN_LENGTH = 300;

function checkOrigin(origin: string | undefined, allowed: readonly string[]): void {
  // Server-to-server senders send no Origin; browsers always do, and must be on the list.
  if (origin === undefined) return;
  const normalized =
    origin.length <= MAX_ORIGIN_LENGTH ? withoutTrailingSlashes(origin.trim().toLowerCase()) : '';
  if (normalized === '' || !allowed.some((a) => withoutTrailingSlashes(a.toLowerCase()) === normalized)) {
    throw new RequestError(403, `Origin ${origin.slice(0, MAX_ORIGIN_LENGTH)} is not allowed to post leads`);
  }
}

/** Not `/\/+$/`: unanchored at the start, that pattern is quadratic on a long run of slashes. */
function withoutTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === '/') end--;
  return text.slice(0, end);
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

/**
 * A form body as an object of fields. Null-prototype, so a field named `__proto__` or `toString` is
 * a field like any other; repeated names collect into an array (appended in place: linear).
 */
function parseForm(body: Buffer): Record<string, string | string[]> {
  const collected = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    const values = collected.get(key);
    if (values) values.push(value);
    else collected.set(key, [value]);
  }
  const form: Record<string, string | string[]> = Object.create(null);
  for (const [key, values] of collected) form[key] = values.length === 1 ? (values[0] as string) : values;
  return form;
}

/** `type/subtype`, lower-cased, without parameters; split by index, never by a pattern. */
function mediaTypeOf(header: string | undefined): string {
  const value = header ?? '';
  const end = value.indexOf(';');
  return (end === -1 ? value : value.slice(0, end)).trim().toLowerCase();
}

/**
 * EventBridge refuses an entry over 256 KB (source, detail-type and detail, in UTF-8 bytes). Each
 * field is bounded, but JSON escaping can grow a control character sixfold, so the entry is measured
 * as the publisher will send it, with a margin for what EventBridge adds to the count.
 */
export const MAX_EVENT_ENTRY_BYTES = LEAD_LIMITS.eventBytes;

function checkEventSize(lead: Lead): void {
  const detail = JSON.stringify(lead);
  const size =
    Buffer.byteLength(EVENT_SOURCE) +
    Buffer.byteLength(events.leadReceived.detailType) +
    Buffer.byteLength(detail);
  if (size <= MAX_EVENT_ENTRY_BYTES) return;
  // Name the field that weighs most, so the sender knows what to shorten.
  let heaviest = '(body)';
  let heaviestSize = 0;
  for (const [key, value] of Object.entries(lead.fields)) {
    const weight = Buffer.byteLength(JSON.stringify(key)) + Buffer.byteLength(JSON.stringify(value));
    if (weight > heaviestSize) [heaviest, heaviestSize] = [`fields.${key}`, weight];
  }
  throw new RequestError(
    413,
    `The lead is too large: ${size} bytes as an event, at most ${MAX_EVENT_ENTRY_BYTES}`,
    {
      fields: [{ field: heaviest, message: `${heaviestSize} bytes as JSON; shorten it` }],
    },
  );
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
