import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The pieces of the SDK floors (sdk-floor-*.ts): a function's AWS SDK clients, built at module scope
 * as the functions build theirs, and one request through each client its first event calls. No
 * Powertools, no zod, no logic: what those clients cost on their own, the floor under a function
 * that needs them. Resources come from the environment the benchmark gives every reference.
 */
export const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

export const readSecret = (client: SecretsManagerClient) => () =>
  client.send(new GetSecretValueCommand({ SecretId: env('FLOOR_SECRET_ID') }));

export const putEvent = (client: EventBridgeClient) => () =>
  client.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: env('EVENT_BUS_NAME'), Source: 'floor', DetailType: 'Floor', Detail: '{}' }],
    }),
  );

export const putItem = (client: DynamoDBClient) => () =>
  client.send(
    new PutItemCommand({
      TableName: env('FLOOR_TABLE'),
      Item: { id: { S: `floor-${Date.now()}-${Math.random()}` } },
    }),
  );

/** Every request side by side: the least wall time those round trips allow. */
export const floorHandler =
  (requests: ReadonlyArray<() => Promise<unknown>>) => async (): Promise<{ statusCode: number }> => {
    await Promise.all(requests.map((request) => request()));
    return { statusCode: 200 };
  };

export { DynamoDBClient, EventBridgeClient, SecretsManagerClient };
