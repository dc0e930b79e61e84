import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * What the fuzz sends, as bytes: the secrets it starts the system with (distinctive, so any leak is
 * found by searching for them), the providers' payload shapes and signatures, and lead bodies built
 * from a list of fields. Pure functions: the generators (`cases.ts`) decide what goes in.
 */
export type SignedProvider = 'typeform' | 'webflow' | 'tally' | 'standard-webhooks';
export const signedProviders: readonly SignedProvider[] = [
  'typeform',
  'webflow',
  'tally',
  'standard-webhooks',
];

export interface FuzzSecrets {
  salescalingApiKey: string;
  signing: Record<SignedProvider, string>;
}

/** Fresh secrets for one run: random, with a prefix no request or fixed text ever contains. */
export function generateSecrets(): FuzzSecrets {
  const token = (label: string) => `fzsecret-${label}-${randomBytes(12).toString('hex')}`;
  return {
    salescalingApiKey: token('apikey'),
    signing: {
      typeform: token('typeform'),
      webflow: token('webflow'),
      tally: token('tally'),
      'standard-webhooks': `whsec_${Buffer.from(token('stdwh')).toString('base64')}`,
    },
  };
}

/** Every form a secret could leak in: each value, and the Standard Webhooks key both encoded and decoded. */
export function secretNeedles(secrets: FuzzSecrets): string[] {
  const standard = secrets.signing['standard-webhooks'].slice('whsec_'.length);
  return [
    secrets.salescalingApiKey,
    secrets.signing.typeform,
    secrets.signing.webflow,
    secrets.signing.tally,
    standard,
    Buffer.from(standard, 'base64').toString('latin1'),
  ];
}

export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
] as const;

export type FieldKind = 'email' | 'text' | 'phone' | 'url' | 'number' | 'date';
export interface Field {
  label: string;
  kind: FieldKind;
  value: string | string[];
}

/** A flat object of fields (HTML form as JSON, Standard Webhooks); own `__proto__` keys stay data. */
export function flatObject(
  fields: readonly Field[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const object: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(extra)) object[key] = value;
  for (const field of fields) object[field.label] = field.value;
  return object;
}

/** `application/x-www-form-urlencoded`, keeping repeated and prototype-named keys. */
export function formBody(fields: readonly Field[], honeypot: string | undefined): Buffer {
  const params = new URLSearchParams();
  if (honeypot !== undefined) params.append('contact_me_by_fax_only', honeypot);
  for (const field of fields) {
    for (const value of [field.value].flat()) params.append(field.label, value);
  }
  return Buffer.from(params.toString());
}

const TYPEFORM_TYPES: Record<FieldKind, [field: string, answer: string]> = {
  email: ['email', 'email'],
  text: ['short_text', 'text'],
  phone: ['phone_number', 'phone_number'],
  url: ['website', 'url'],
  number: ['short_text', 'text'],
  date: ['date', 'date'],
};
const TALLY_TYPES: Record<FieldKind, string> = {
  email: 'INPUT_EMAIL',
  text: 'INPUT_TEXT',
  phone: 'INPUT_PHONE_NUMBER',
  url: 'INPUT_LINK',
  number: 'INPUT_TEXT',
  date: 'INPUT_DATE',
};

/** The provider's documented payload carrying these fields (the shapes of test/fixtures/leads). */
export function providerPayload(provider: SignedProvider, fields: readonly Field[], id: string): unknown {
  switch (provider) {
    case 'typeform':
      return {
        event_id: id,
        event_type: 'form_response',
        form_response: {
          form_id: 'fzForm',
          submitted_at: '2026-11-28T09:16:31Z',
          definition: {
            title: 'Fuzz form',
            fields: fields.map((f, i) => ({ id: `F${i}`, title: f.label, type: TYPEFORM_TYPES[f.kind][0] })),
          },
          answers: fields.map((f, i) => {
            const [fieldType, answerType] = TYPEFORM_TYPES[f.kind];
            return Array.isArray(f.value)
              ? {
                  type: 'choices',
                  choices: { labels: f.value },
                  field: { id: `F${i}`, type: 'multiple_choice' },
                }
              : { type: answerType, [answerType]: f.value, field: { id: `F${i}`, type: fieldType } };
          }),
        },
      };
    case 'webflow':
      return {
        triggerType: 'form_submission',
        payload: {
          id,
          name: 'Fuzz form',
          formId: 'fzForm',
          submittedAt: '2026-11-28T09:16:31.000Z',
          data: flatObject(fields),
        },
      };
    case 'tally':
      return {
        eventId: id,
        eventType: 'FORM_RESPONSE',
        createdAt: '2026-11-28T09:16:31.000Z',
        data: {
          submissionId: id,
          formId: 'fzForm',
          formName: 'Fuzz form',
          fields: fields.map((f, i) => ({
            key: `question_${i}`,
            label: f.label,
            type: TALLY_TYPES[f.kind],
            value: f.value,
          })),
        },
      };
    case 'standard-webhooks':
      return flatObject(fields);
  }
}

/**
 * A Tally body whose answers repeat one long option's id: small on the wire, huge once the option
 * ids are replaced by their text (`text` × `repeats`).
 */
export function tallyOptionBomb(targetBytes: number, email: string | undefined, id: string): Buffer {
  const textLength = Math.floor(targetBytes / 2);
  const repeats = Math.floor((targetBytes - textLength) / 4);
  const fields: unknown[] = [
    {
      key: 'question_bomb',
      label: 'Interests',
      type: 'MULTI_SELECT',
      value: Array.from({ length: repeats }, () => 'o'),
      options: [{ id: 'o', text: 'x'.repeat(textLength) }],
    },
  ];
  if (email) fields.push({ key: 'question_email', label: 'Email', type: 'INPUT_EMAIL', value: email });
  return Buffer.from(
    JSON.stringify({
      eventId: id,
      eventType: 'FORM_RESPONSE',
      data: { submissionId: id, formId: 'fzForm', fields },
    }),
  );
}

export type SignatureMode =
  | { kind: 'valid' }
  | { kind: 'none' }
  | { kind: 'partial' }
  | { kind: 'wrong-secret'; secret: string }
  | { kind: 'other-provider'; provider: SignedProvider }
  | { kind: 'malformed'; value: string }
  | { kind: 'shifted'; offsetMs: number }
  | { kind: 'seconds-not-ms' };

/** The signature headers for a body, as the provider computes them (or deliberately not). */
export function signatureHeaders(
  provider: SignedProvider,
  body: Buffer,
  mode: SignatureMode,
  secrets: FuzzSecrets,
  now: Date,
  webhookId: string,
): Record<string, string> {
  if (mode.kind === 'none') return {};
  const secretFor = (): string => {
    if (mode.kind === 'wrong-secret') return mode.secret;
    if (mode.kind === 'other-provider') return secrets.signing[mode.provider];
    return secrets.signing[provider];
  };
  const at = mode.kind === 'shifted' ? new Date(now.getTime() + mode.offsetMs) : now;
  const hmac = (...parts: (string | Buffer)[]) => {
    const mac = createHmac('sha256', secretFor());
    for (const part of parts) mac.update(part);
    return mac.digest();
  };
  switch (provider) {
    case 'typeform':
      if (mode.kind === 'malformed') return { 'typeform-signature': mode.value };
      if (mode.kind === 'partial') return { 'typeform-signature': 'sha256=' };
      return { 'typeform-signature': `sha256=${hmac(body).toString('base64')}` };
    case 'tally':
      if (mode.kind === 'malformed') return { 'tally-signature': mode.value };
      if (mode.kind === 'partial') return { 'tally-signature': '' };
      return { 'tally-signature': hmac(body).toString('base64') };
    case 'webflow': {
      const timestamp = String(
        mode.kind === 'seconds-not-ms' ? Math.floor(at.getTime() / 1000) : at.getTime(),
      );
      if (mode.kind === 'malformed')
        return { 'x-webflow-timestamp': timestamp, 'x-webflow-signature': mode.value };
      if (mode.kind === 'partial') return { 'x-webflow-timestamp': timestamp };
      return {
        'x-webflow-timestamp': timestamp,
        'x-webflow-signature': hmac(`${timestamp}:`, body).toString('hex'),
      };
    }
    case 'standard-webhooks': {
      const seconds = String(Math.floor(at.getTime() / 1000));
      const base = { 'webhook-id': webhookId, 'webhook-timestamp': seconds };
      if (mode.kind === 'malformed') return { ...base, 'webhook-signature': mode.value };
      if (mode.kind === 'partial') return base;
      const secret = secretFor();
      // Any secret signs the Standard Webhooks way once it is a whsec_ key.
      const key = secret.startsWith('whsec_') ? secret : `whsec_${Buffer.from(secret).toString('base64')}`;
      const signature = new Webhook(key).sign(webhookId, at, body.toString('utf8'));
      return { ...base, 'webhook-signature': signature };
    }
  }
}
