import 'aws-sdk-client-mock-vitest/extend';
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { readSigningSecrets } from '#functions/lead-ingest/ingest.ts';
import { salescalingKeyFromSecret } from '#shared/config/salescaling-key.ts';
import { SecretReadError } from '#shared/config/secret-error.ts';

/** Secrets Manager failures, on the real SDK client with its `send` replaced (aws-sdk-client-mock). */
const secretsManager = mockClient(SecretsManagerClient);
beforeEach(() => secretsManager.reset());

const awsError = (name: string, message: string) =>
  new SecretsManagerServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });

const failures = [
  [
    'AccessDeniedException',
    'User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: secretsmanager:GetSecretValue',
    "the function's role may not read it",
  ],
  ['ResourceNotFoundException', "Secrets Manager can't find the specified secret.", 'no such secret'],
  ['ThrottlingException', 'Rate exceeded', 'throttling'],
] as const;

const context = { functionName: 'fn', awsRequestId: 'req-1', salescalingApiKey: undefined } as Context & {
  salescalingApiKey: unknown;
};

describe('the Salescaling API key reader', () => {
  it.each(failures)(
    'on %s, throws an error naming the secret and what to check',
    async (code, message, hint) => {
      const secretId = `salescaling/api-key-${code}`;
      secretsManager.on(GetSecretValueCommand).rejects(awsError(code, message));
      const { provider } = salescalingKeyFromSecret(secretId);

      const failure = await provider({ forceRefresh: true }).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(failure).toBeInstanceOf(SecretReadError);
      expect(failure).toMatchObject({ secretId, code });
      expect((failure as Error).message).toContain(
        `the secret ${secretId} (the Salescaling API key): ${code}`,
      );
      expect((failure as Error).message).toContain(hint);
      expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: secretId });
    },
  );

  it('names the secret, not any value, when the secret is empty', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '' });
    await expect(
      salescalingKeyFromSecret('salescaling/empty').provider({ forceRefresh: true }),
    ).rejects.toThrow('The secret salescaling/empty is empty');
  });

  it.each(failures)(
    'fails the invocation naming the secret when the cold-start fetch meets %s',
    async (code, message) => {
      const secretId = `salescaling/cold-${code}`;
      secretsManager.on(GetSecretValueCommand).rejects(awsError(code, message));
      const key = salescalingKeyFromSecret(secretId);
      const handler = middy(async (_: unknown, ctx: Context & { salescalingApiKey?: unknown }) => {
        key.remember(ctx);
        return 'ran';
      }).use(key.middleware());

      const failure = await handler({}, { ...context }).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(failure).toBeInstanceOf(SecretReadError);
      expect(failure).toMatchObject({ secretId, code });
    },
  );

  it('does not hold the invocation back while the key is read: work that needs no key starts at once', async () => {
    let answer: (value: { SecretString: string }) => void = () => undefined;
    secretsManager.on(GetSecretValueCommand).callsFake(
      () =>
        new Promise((resolve) => {
          answer = resolve;
        }),
    );
    const key = salescalingKeyFromSecret('salescaling/slow');
    const order: string[] = [];
    const handler = middy(async (_: unknown, ctx: Context & { salescalingApiKey?: unknown }) => {
      key.remember(ctx);
      order.push('work started');
      const value = await key.provider({ forceRefresh: false });
      order.push(`key ${value}`);
      return value;
    }).use(key.middleware());

    const result = handler({}, { ...context });
    await vi.waitFor(() => expect(order).toEqual(['work started']));
    answer({ SecretString: 'key-late' });
    await expect(result).resolves.toBe('key-late');
    expect(order).toEqual(['work started', 'key key-late']);
  });

  it('hands the fetched key to the function, and the provider uses it without another read', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'key-from-secret' });
    const key = salescalingKeyFromSecret('salescaling/ok');
    const handler = middy(async (_: unknown, ctx: Context & { salescalingApiKey?: unknown }) => {
      key.remember(ctx);
      return key.provider({ forceRefresh: false });
    }).use(key.middleware());

    await expect(handler({}, { ...context })).resolves.toBe('key-from-secret');
    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });
});

describe('readSigningSecrets', () => {
  it('names the secret and where it is wrong, never a value it read', () => {
    const value = JSON.stringify({ typeform: 'whsec-do-not-log', webflow: 42 });
    let thrown: unknown;
    try {
      readSigningSecrets(value, 'lead-ingest/signing-secrets');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    const error = thrown as Error;
    expect(error.message).toContain('The secret lead-ingest/signing-secrets');
    expect(error.message).toContain('webflow');
    expect(`${error.message} ${String(error.cause)} ${error.stack}`).not.toContain('whsec-do-not-log');
  });
});
