import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod';
import { jsonEnv } from '#shared/config/json-env.ts';
import { loadConfig } from '#shared/config/load-config.ts';
import { SecretReadError } from '#shared/config/secret-error.ts';
import { RequestError } from '#shared/errors.ts';
import { eventBridgePublisher } from '#shared/events/publisher.ts';
import { fieldMappingSchema } from '#shared/leads/field-mapping.ts';
import { httpHandler, jsonResponse, redirectResponse } from '#shared/middleware/http.ts';
import { logger } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { ingestLead, ProviderNotEnabledError, readSigningSecrets, signedProviders } from './ingest.ts';
import { rateLimitedRefresh } from './secret-refresh.ts';

const config = loadConfig(
  z.object({
    EVENT_BUS_NAME: z.string().min(1),
    WEBHOOK_SIGNING_SECRETS_ID: z.string().min(1),
    ALLOWED_ORIGINS: jsonEnv(z.array(z.url())),
    THANK_YOU_URL: z.url(),
    LEAD_FIELD_MAPPING: jsonEnv(fieldMappingSchema),
    HONEYPOT_FIELD: z.string().min(1),
    MAX_BODY_BYTES: z.coerce.number().int().positive(),
  }),
);
const publisher = eventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME);
const settings = {
  allowedOrigins: config.ALLOWED_ORIGINS,
  honeypotField: config.HONEYPOT_FIELD,
  maxBodyBytes: config.MAX_BODY_BYTES,
  mapping: config.LEAD_FIELD_MAPPING,
};

/**
 * Signing secrets from Secrets Manager, cached for five minutes (JSON, see docs/lead-capture.md); after a
 * mismatch, re-read at most once per provider per ten seconds, one read shared by concurrent requests.
 */
const signingSecrets = rateLimitedRefresh(
  async ({ forceRefresh }) => {
    const secretId = config.WEBHOOK_SIGNING_SECRETS_ID;
    const value = await getSecret(secretId, { maxAge: 300, forceFetch: forceRefresh }).catch((cause) => {
      throw new SecretReadError(secretId, 'the webhook signing secrets', cause);
    });
    return readSigningSecrets(value, secretId);
  },
  { now: Date.now },
);

/** A lead figure: the total (dashboard) and by provider (and by status, for rejections). */
const countLead = (name: string, provider: string, status?: string) => {
  metrics.addMetric(name, MetricUnit.Count, 1);
  const single = metrics.singleMetric();
  single.addDimensions({ provider, ...(status ? { status } : {}) });
  single.addMetric(`${name}ByProvider`, MetricUnit.Count, 1);
};

const handle = async (event: APIGatewayProxyEventV2) => {
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  // A metric dimension: only known names, so a hostile path cannot mint dimensions (each one a
  // billed custom metric) or carry a megabyte into the logs.
  const named = event.pathParameters?.provider;
  const provider =
    named === undefined ? 'form' : (signedProviders as readonly string[]).includes(named) ? named : 'unknown';
  const outcome = await ingestLead(
    { provider: event.pathParameters?.provider, headers: event.headers, body, receivedAt: new Date() },
    settings,
    { signingSecrets, publisher },
  ).catch((error: unknown) => {
    if (error instanceof RequestError) countLead('LeadsRejected', provider, String(error.status));
    if (error instanceof ProviderNotEnabledError) {
      // The sender is told 404; the operator must know a provider is posting leads nobody takes.
      logger.warn('Signed lead refused: the provider has no signing secret here', {
        provider: error.provider,
        signingSecretsId: config.WEBHOOK_SIGNING_SECRETS_ID,
      });
    }
    throw error;
  });
  countLead(outcome.kind === 'spam' ? 'LeadsSpam' : 'LeadsAccepted', provider);
  if (outcome.kind === 'spam') {
    logger.info('Spam answered like a success and dropped');
    // Answered exactly like a success, so a bot learns nothing.
    return outcome.answer === 'redirect'
      ? redirectResponse(config.THANK_YOU_URL)
      : jsonResponse(202, { id: crypto.randomUUID() });
  }
  logger.info('Lead accepted', {
    submissionId: outcome.lead.submissionId,
    provider: outcome.lead.source.provider,
    eventId: outcome.eventId,
  });
  if (outcome.dropped.length > 0) {
    // Names only: the values are the submitter's (kept in the lead's raw fields).
    logger.warn('Mapped form fields dropped: their values do not parse', {
      submissionId: outcome.lead.submissionId,
      dropped: outcome.dropped,
    });
  }
  return outcome.answer === 'redirect'
    ? redirectResponse(config.THANK_YOU_URL)
    : jsonResponse(202, { id: outcome.lead.submissionId });
};

export const handler = httpHandler(handle);
