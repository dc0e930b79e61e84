import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AwsStandIn, startAwsStandIn } from '#local/tools/bench/aws-stand-in.ts';

/**
 * The cold-start benchmark compares each function with its SDK floor (docs/performance.md): a floor
 * that silently stopped making its requests would be a cheaper reference and flatter nothing, but
 * mislead. Each floor is run here against the benchmark's own AWS stand-in, and the requests it
 * made are counted.
 */
const TABLE = 'floor-table';
const SECRET_ID = 'floor/secret';

let aws: AwsStandIn;
let dynamo: DynamoDBClient;
const saved = { ...process.env };

beforeAll(async () => {
  aws = await startAwsStandIn({ secrets: { [SECRET_ID]: 'floor-secret-value' }, tables: { [TABLE]: 'id' } });
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'floor',
    AWS_SECRET_ACCESS_KEY: 'floor',
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoDbEndpoint,
    EVENT_BUS_NAME: 'floor-bus',
    FLOOR_SECRET_ID: SECRET_ID,
    FLOOR_TABLE: TABLE,
  });
  dynamo = new DynamoDBClient({ endpoint: aws.dynamoDbEndpoint });
});

afterAll(async () => {
  dynamo?.destroy();
  await aws?.close();
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

const items = async () => (await dynamo.send(new ScanCommand({ TableName: TABLE }))).Count ?? 0;

describe("the cold-start benchmark's SDK floors", () => {
  it.each([
    ['sdk-floor-lead-ingest', 0],
    ['sdk-floor-stale-deals', 1],
    ['sdk-floor-with-queue', 1],
  ])('%s makes one request through each client it names, and answers 200', async (floor, puts) => {
    vi.resetModules();
    const { handler } = (await import(`#local/tools/bench/reference-handlers/${floor}.ts`)) as {
      handler: () => Promise<{ statusCode: number }>;
    };
    const secretsBefore = aws.calls.get('secretsmanager.GetSecretValue') ?? 0;
    const eventsBefore = aws.calls.get('AWSEvents.PutEvents') ?? 0;
    const itemsBefore = await items();

    await expect(handler()).resolves.toEqual({ statusCode: 200 });

    expect((aws.calls.get('secretsmanager.GetSecretValue') ?? 0) - secretsBefore).toBe(1);
    expect((aws.calls.get('AWSEvents.PutEvents') ?? 0) - eventsBefore).toBe(1);
    expect((await items()) - itemsBefore).toBe(puts);
    // Nothing else: a floor sends no message to a queue.
    expect(aws.calls.get('AmazonSQS.SendMessage') ?? 0).toBe(0);
  });

  it('fails naming the variable a floor needs when it is missing', async () => {
    vi.resetModules();
    const { handler } = (await import('#local/tools/bench/reference-handlers/sdk-floor-lead-ingest.ts')) as {
      handler: () => Promise<unknown>;
    };
    const secretId = process.env.FLOOR_SECRET_ID;
    delete process.env.FLOOR_SECRET_ID;
    try {
      await expect(handler()).rejects.toThrow('FLOOR_SECRET_ID is not set');
    } finally {
      process.env.FLOOR_SECRET_ID = secretId;
    }
  });
});
