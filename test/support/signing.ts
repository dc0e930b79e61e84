import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';

/**
 * Signs bodies the way each provider does, for fixtures: valid, with a wrong secret, at a chosen
 * time. Returns the headers to send with the body.
 */
export const fixture = (name: 'typeform' | 'webflow' | 'tally' | 'standard-webhooks'): string =>
  JSON.stringify(
    JSON.parse(readFileSync(new URL(`../fixtures/leads/${name}.json`, import.meta.url), 'utf8')),
  );

export function typeformHeaders(body: string, secret: string): Record<string, string> {
  return { 'typeform-signature': `sha256=${createHmac('sha256', secret).update(body).digest('base64')}` };
}

export function tallyHeaders(body: string, secret: string): Record<string, string> {
  return { 'tally-signature': createHmac('sha256', secret).update(body).digest('base64') };
}

export function webflowHeaders(body: string, secret: string, at: Date = new Date()): Record<string, string> {
  const timestamp = String(at.getTime());
  return {
    'x-webflow-timestamp': timestamp,
    'x-webflow-signature': createHmac('sha256', secret).update(`${timestamp}:${body}`).digest('hex'),
  };
}

export function standardWebhooksHeaders(
  body: string,
  secret: string,
  at: Date = new Date(),
  id = `msg_${at.getTime()}`,
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

export const signers = {
  typeform: (body: string, secret: string, _at?: Date) => typeformHeaders(body, secret),
  tally: (body: string, secret: string, _at?: Date) => tallyHeaders(body, secret),
  webflow: webflowHeaders,
  'standard-webhooks': standardWebhooksHeaders,
} as const;
