import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/**
 * The AWS APIs a function's first event calls, on loopback, for the cold-start benchmark: Secrets
 * Manager GetSecretValue, EventBridge PutEvents and SQS SendMessage answered here (the SDK's JSON
 * protocols, enough for a successful call), DynamoDB by dynalite with the given tables. Nothing is
 * checked: only the bench's own processes reach it, and only for one run.
 */
export interface AwsStandIn {
  /** For `AWS_ENDPOINT_URL`. */
  endpoint: string;
  /** For `AWS_ENDPOINT_URL_DYNAMODB`. */
  dynamoDbEndpoint: string;
  /** Requests received, by `X-Amz-Target` (`DynamoDB_20120810.PutItem`, `AWSEvents.PutEvents`, …). */
  calls: Map<string, number>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startAwsStandIn(options: {
  secrets: Record<string, string>;
  /** Table name → partition key (a string attribute). */
  tables: Record<string, string>;
}): Promise<AwsStandIn> {
  const calls = new Map<string, number>();
  const answers: Record<string, (input: Record<string, unknown>) => unknown> = {
    'secretsmanager.GetSecretValue': (input) => {
      const name = String(input.SecretId);
      const value = options.secrets[name];
      if (value === undefined) return undefined;
      return { ARN: name, Name: name, SecretString: value, VersionId: 'v1', CreatedDate: 0 };
    },
    'AWSEvents.PutEvents': (input) => ({
      FailedEntryCount: 0,
      Entries: (input.Entries as unknown[]).map(() => ({ EventId: randomUUID() })),
    }),
    'AmazonSQS.SendMessage': (input) => ({
      MessageId: randomUUID(),
      MD5OfMessageBody: createHash('md5').update(String(input.MessageBody)).digest('hex'),
    }),
  };
  const server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    readBody(req).then((body) => {
      const answer = answers[target]?.(JSON.parse(body || '{}') as Record<string, unknown>);
      calls.set(target, (calls.get(target) ?? 0) + 1);
      res.writeHead(answer === undefined ? 400 : 200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify(answer ?? { __type: 'ResourceNotFoundException', message: `Not stood in: ${target}` }),
      );
    }, res.destroy.bind(res));
  });
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const endpoint = await listen(server);
  const dynamoDbEndpoint = await listen(dynamo);
  const setUp = new DynamoDBClient({
    endpoint: dynamoDbEndpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  for (const [TableName, key] of Object.entries(options.tables)) {
    await setUp.send(
      new CreateTableCommand({
        TableName,
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
  setUp.destroy();
  // DynamoDB's requests are counted too, from here on (the set-up's are not).
  dynamo.on('request', (req: IncomingMessage) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    calls.set(target, (calls.get(target) ?? 0) + 1);
  });
  return {
    endpoint,
    dynamoDbEndpoint,
    calls,
    close: async () => {
      await Promise.all([close(server), close(dynamo)]);
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('Request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
