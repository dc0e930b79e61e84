import 'aws-sdk-client-mock-vitest/extend';
import {
  EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretReadError } from '#shared/config/secret-error.ts';
import { logger } from '#shared/observability/logger.ts';

/**
 * The lead-ingest handler (its whole middy stack) over failing AWS calls: the real SDK clients with
 * their `send` replaced. Configured through its environment, imported once it is set.
 */
const eventBridge = mockClient(EventBridgeClient);
const secretsManager = mockClient(SecretsManagerClient);
const SECRET_ID = 'lead-ingest/signing-secrets-test';

let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('EVENT_BUS_NAME', 'leads-bus');
  vi.stubEnv('WEBHOOK_SIGNING_SECRETS_ID', SECRET_ID);
  vi.stubEnv('ALLOWED_ORIGINS', '[]');
  vi.stubEnv('THANK_YOU_URL', 'https://www.acme.com/thanks');
  vi.stubEnv('LEAD_FIELD_MAPPING', '{}');
  vi.stubEnv('HONEYPOT_FIELD', 'fax');
  vi.stubEnv('MAX_BODY_BYTES', '10000');
  ({ handler } = await import('#functions/lead-ingest/handler.ts'));
});

/** What the function warned about (kept out of the test output). */
let warnings: unknown[][] = [];
beforeEach(() => {
  eventBridge.reset();
  secretsManager.reset();
  warnings = [];
  vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
    warnings.push(args);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const context = { functionName: 'lead-ingest', awsRequestId: 'req-1' } as Context;

const post = (provider?: string) =>
  handler(
    {
      version: '2.0',
      routeKey: provider ? 'POST /leads/{provider}' : 'POST /leads',
      rawPath: provider ? `/leads/${provider}` : '/leads',
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@acme.com', submissionId: 'sub-1' }),
      isBase64Encoded: false,
      ...(provider ? { pathParameters: { provider } } : {}),
      requestContext: {} as APIGatewayProxyEventV2['requestContext'],
    },
    context,
  );

describe('lead-ingest when PutEvents fails', () => {
  it.each([
    [
      'FailedEntryCount > 0',
      () =>
        eventBridge
          .on(PutEventsCommand)
          .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] }),
    ],
    [
      'throttling',
      () =>
        eventBridge.on(PutEventsCommand).rejects(
          new EventBridgeServiceException({
            name: 'ThrottlingException',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
            message: 'Rate exceeded',
          }),
        ),
    ],
  ])('answers 503 with retry-after on %s, so the sender retries', async (_, fail) => {
    fail();
    const response = await post();
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'retry-after': '5' });
    expect(JSON.parse(response.body ?? '')).toEqual({ message: 'Temporarily unavailable, please retry' });
    expect(eventBridge).toHaveReceivedCommandOnce(PutEventsCommand);
  });

  it('answers 202 with the lead id once PutEvents accepts it', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    const response = await post();
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body ?? '')).toEqual({ id: 'sub-1' });
  });
});

describe('lead-ingest when the signing secrets cannot be read', () => {
  it.each([
    ['AccessDeniedException', 'not authorized to perform: secretsmanager:GetSecretValue'],
    ['ResourceNotFoundException', "Secrets Manager can't find the specified secret."],
    ['ThrottlingException', 'Rate exceeded'],
  ])(
    'answers 503 and logs which secret failed and why (%s), telling the sender nothing of it',
    async (code, message) => {
      secretsManager.on(GetSecretValueCommand).rejects(
        new SecretsManagerServiceException({
          name: code,
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message,
        }),
      );

      const response = await post('typeform');

      expect(response.statusCode).toBe(503);
      expect(response.body).not.toContain(SECRET_ID);
      expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ID });
      expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
      const [, details] = warnings.find(([message]) => message === 'Service unavailable') ?? [];
      const cause = (details as { error?: Error } | undefined)?.error?.cause;
      expect(cause).toBeInstanceOf(SecretReadError);
      expect((cause as Error).message).toContain(
        `Could not read the secret ${SECRET_ID} (the webhook signing secrets): ${code}`,
      );
    },
  );
});
