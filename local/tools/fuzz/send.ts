import { Agent, request } from 'node:http';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { OutsiderCall, PutEntry } from './cases.ts';
import type { Answer } from './check.ts';

/**
 * Sending a case: raw HTTP (node:http, so a malformed path, a foreign Host, invalid UTF-8 and huge
 * headers go out exactly as written) or PutEvents through the real EventBridge client with an
 * outsider's credentials. Returns the answer and its text (body and headers), for the secret search.
 */
const TIMEOUT_MS = 30_000;
const MAX_KEPT_BYTES = 4 * 1024 * 1024;

export interface Sent {
  answer: Answer;
  /** Status line, headers and body as text: where a leaked secret would show. */
  text: string;
}

export function httpSender(concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const send = (
    baseUrl: string,
    wire: { method: string; path: string; headers: Record<string, string>; body?: Buffer | undefined },
  ): Promise<Sent> => {
    const started = performance.now();
    const base = new URL(baseUrl);
    return new Promise((resolve) => {
      const done = (answer: Omit<Answer, 'durationMs'>, text: string) =>
        resolve({ answer: { ...answer, durationMs: performance.now() - started }, text });
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method: wire.method,
          path: wire.path,
          headers: {
            ...wire.headers,
            ...(wire.body && wire.method !== 'GET' ? { 'content-length': String(wire.body.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          res.on('data', (chunk: Buffer) => {
            if (kept < MAX_KEPT_BYTES) chunks.push(chunk);
            kept += chunk.length;
          });
          res.on('end', () =>
            done(
              { status: res.statusCode },
              `${res.statusCode} ${JSON.stringify(res.headers)}\n${Buffer.concat(chunks).toString('utf8')}`,
            ),
          );
          res.on('error', (error) => done({ status: res.statusCode, error: error.message }, ''));
        },
      );
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)));
      req.on('error', (error: NodeJS.ErrnoException) =>
        done({ status: undefined, error: error.code ?? error.message }, ''),
      );
      if (wire.body && wire.method !== 'GET') req.end(wire.body);
      else req.end();
    });
  };
  return { send, close: () => agent.destroy() };
}

/** An outside caller's own credentials: a key the runtime never issued to a sandbox. */
const OUTSIDER = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIAFUZZOUTSIDER0001', secretAccessKey: 'fuzz-outsider-own-key' },
  maxAttempts: 1,
};

/** The runtime's other AWS APIs through the real SDK clients, signed as an outsider. */
export function awsSender(runtimeUrl: string, dynamoDbUrl: string) {
  const sqs = new SQSClient({ ...OUTSIDER, endpoint: runtimeUrl });
  const secrets = new SecretsManagerClient({ ...OUTSIDER, endpoint: runtimeUrl });
  const dynamo = new DynamoDBClient({ ...OUTSIDER, endpoint: dynamoDbUrl });
  const documents = DynamoDBDocumentClient.from(dynamo);
  const run = (call: OutsiderCall): Promise<{ $metadata: { httpStatusCode?: number } }> => {
    switch (call.service) {
      case 'sqs':
        return sqs.send(new SendMessageCommand({ QueueUrl: call.queueUrl, MessageBody: call.body }));
      case 'secretsmanager':
        return secrets.send(new GetSecretValueCommand({ SecretId: call.secretId }));
      case 'dynamodb':
        switch (call.action) {
          case 'PutItem':
            return documents.send(new PutCommand({ TableName: call.table, Item: call.item }));
          case 'GetItem':
            return documents.send(new GetCommand({ TableName: call.table, Key: call.key }));
          case 'DeleteItem':
            return documents.send(new DeleteCommand({ TableName: call.table, Key: call.key }));
          case 'Scan':
            return documents.send(new ScanCommand({ TableName: call.table }));
          case 'DeleteTable':
            return dynamo.send(new DeleteTableCommand({ TableName: call.table }));
        }
    }
  };
  const send = (call: OutsiderCall): Promise<Sent> =>
    sdkCall(
      () => run(call),
      (output) => ({ status: output.$metadata.httpStatusCode }),
    );
  return {
    send,
    close: () => {
      sqs.destroy();
      secrets.destroy();
      dynamo.destroy();
    },
  };
}

/** PutEvents as an outside system would call it: the real client, credentials of its own, no retries. */
export function busSender(endpoint: string, busName: string) {
  const client = new EventBridgeClient({ ...OUTSIDER, endpoint });
  const send = (entries: readonly PutEntry[]): Promise<Sent> =>
    sdkCall(
      () =>
        client.send(new PutEventsCommand({ Entries: entries.map((e) => ({ EventBusName: busName, ...e })) })),
      (output) => ({
        status: output.$metadata.httpStatusCode,
        acceptedEntries: (output.Entries ?? []).filter((e) => e.EventId).length,
      }),
      { acceptedEntries: 0 },
    );
  return { send, close: () => client.destroy() };
}

/** One SDK call, timed: the answer read from its output, or its error's HTTP status (or the error). */
async function sdkCall<T extends { $metadata: { httpStatusCode?: number } }>(
  call: () => Promise<T>,
  answerOf: (output: T) => Omit<Answer, 'durationMs'>,
  onError: Partial<Answer> = {},
): Promise<Sent> {
  const started = performance.now();
  try {
    const output = await call();
    return {
      answer: { ...answerOf(output), durationMs: performance.now() - started },
      text: JSON.stringify(output),
    };
  } catch (error) {
    const failure = error as Error & { $metadata?: { httpStatusCode?: number } };
    const status = failure.$metadata?.httpStatusCode;
    return {
      answer: {
        ...onError,
        status,
        error: status === undefined ? `${failure.name}: ${failure.message}` : undefined,
        durationMs: performance.now() - started,
      },
      text: `${failure.name}: ${failure.message}`,
    };
  }
}
