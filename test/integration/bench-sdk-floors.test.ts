import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AwsStandIn, startAwsStandIn } from '#local/tools/bench/aws-stand-in.ts';

/**
 * The cold-start benchmark compares each function with its SDK floor (docs/performance.md): a floor
 * that silently stopped making its requests would be a cheaper reference and flatter nothing, but
 * mislead. Each floor is run here against the benchmark's own AWS stand-in, and the requests it
 * made are counted (the benchmark itself checks that each function's first event makes them too).
 */
const TABLE = 'floor-table';
const SECRET_ID = 'floor/secret';

let aws: AwsStandIn;
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
});

afterAll(async () => {
  await aws?.close();
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

describe("the cold-start benchmark's SDK floors", () => {
  const secret = 'secretsmanager.GetSecretValue';
  const put = 'AWSEvents.PutEvents';
  const putItem = 'DynamoDB_20120810.PutItem';
  it.each([
    ['sdk-floor-lead-ingest', { [put]: 1 }],
    ['sdk-floor-stale-deals', { [putItem]: 1, [secret]: 1, [put]: 1 }],
    ['sdk-floor-with-queue', { [putItem]: 1, [secret]: 1, [put]: 1 }],
  ])('%s makes one request through each client it names, and nothing else', async (floor, expected) => {
    vi.resetModules();
    const { handler } = (await import(`#local/tools/bench/reference-handlers/${floor}.ts`)) as {
      handler: () => Promise<{ statusCode: number }>;
    };
    const before = new Map(aws.calls);

    await expect(handler()).resolves.toEqual({ statusCode: 200 });

    const made = Object.fromEntries(
      [...aws.calls].map(([op, n]) => [op, n - (before.get(op) ?? 0)]).filter(([, n]) => n !== 0),
    );
    expect(made).toEqual(expected);
  });

  it('fails naming the variable a floor needs when it is missing', async () => {
    vi.resetModules();
    const { handler } = (await import('#local/tools/bench/reference-handlers/sdk-floor-stale-deals.ts')) as {
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
