import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import {
  type Field,
  flatObject,
  providerPayload,
  type SignedProvider,
  signatureHeaders,
  signedProviders,
} from '#local/tools/fuzz/payloads.ts';

/**
 * A test lead from the console: the provider's own payload shape and signature, built by the same
 * helpers the fuzz uses, signed with the runtime's local secret for that provider, then sent to the
 * runtime's own route over loopback like any sender's request. The secret signs here and goes no
 * further: the page gets back the request's answer and the submission id, never a header.
 */
export const testLeadProviders = ['form', ...signedProviders] as const;
export type TestLeadProvider = (typeof testLeadProviders)[number];

const text = (max: number) => z.string().trim().min(1).max(max);
export const testLeadSchema = z
  .object({
    provider: z.enum(testLeadProviders),
    email: z.email({ error: 'must be an email address' }).max(254),
    firstName: text(100).optional(),
    lastName: text(100).optional(),
    company: text(200).optional(),
    jobTitle: text(200).optional(),
    budget: z.number().finite().min(0).max(1e12).optional(),
    message: text(2000).optional(),
  })
  .strict();
export type TestLead = z.infer<typeof testLeadSchema>;

export interface BuiltRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  submissionId: string | undefined;
}

export function buildTestLead(
  lead: TestLead,
  signingSecrets: Readonly<Record<string, readonly string[] | undefined>>,
  now = new Date(),
): BuiltRequest | { error: string } {
  const fields: Field[] = [{ label: 'email', kind: 'email', value: lead.email }];
  const add = (label: string, value: string | undefined, kind: Field['kind'] = 'text') => {
    if (value !== undefined) fields.push({ label, kind, value });
  };
  add('first_name', lead.firstName);
  add('last_name', lead.lastName);
  add('company', lead.company);
  add('job_title', lead.jobTitle);
  add('budget', lead.budget === undefined ? undefined : String(lead.budget), 'number');
  add('message', lead.message);
  const id = `console-${randomUUID()}`;
  if (lead.provider === 'form') {
    // The plain form's JSON flavour, so the answer names the lead (the HTML form is redirected).
    return {
      path: '/leads',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(flatObject(fields))),
      submissionId: undefined,
    };
  }
  const provider: SignedProvider = lead.provider;
  const secret = signingSecrets[provider]?.[0];
  if (!secret) return { error: `No local signing secret for ${provider}: start the runtime with one` };
  const body = Buffer.from(JSON.stringify(providerPayload(provider, fields, id)));
  const headers = signatureHeaders(
    provider,
    body,
    { kind: 'valid' },
    {
      salescalingApiKey: '',
      signing: { typeform: '', webflow: '', tally: '', 'standard-webhooks': '', [provider]: secret },
    },
    now,
    id,
  );
  return {
    path: `/leads/${provider}`,
    headers: { 'content-type': 'application/json', ...headers },
    body,
    submissionId: id,
  };
}
