import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/**
 * A real DynamoDB API for tests: dynalite in memory on loopback, the real SDK client, and tables
 * keyed as the declared ones (`id`, a string). What the stores run on locally and in AWS.
 */
export interface TestDynamoDb {
  client: DynamoDBClient;
  endpoint: string;
  /** Creates a table keyed on `id` (or `partitionKey`) and returns its name. */
  createTable(name: string, partitionKey?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestDynamoDb(): Promise<TestDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    client,
    endpoint,
    async createTable(name, partitionKey = 'id') {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      return name;
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
