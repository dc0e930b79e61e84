import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { type FunctionDeclaration, type ResourceName, resourceBindings } from '#functions/declaration.ts';

/**
 * DynamoDB, locally: dynalite (in memory) on loopback, with every table a declared function's
 * `access` names (the tables whose binding declares `dynamoDbTable`), created at start. Sandboxes
 * reach it through the SDK's service-specific endpoint variable, `AWS_ENDPOINT_URL_DYNAMODB`, and
 * the table name is the resource's value, as in AWS. It answers only requests addressed to loopback
 * and never a browser's (dynalite itself allows any origin), so a web page cannot read or write it.
 */
type TableResource = {
  [K in ResourceName]: (typeof resourceBindings)[K] extends { dynamoDbTable: object } ? K : never;
}[ResourceName];

export interface LocalDynamoDb {
  /** The dynalite endpoint, e.g. http://127.0.0.1:41234; undefined when no function needs a table. */
  endpoint: string | undefined;
  /** Each table resource's local table name. */
  tableNames: Record<TableResource, string>;
  /** What a function's sandbox needs to reach its tables (nothing if it has none). */
  environmentFor(declaration: FunctionDeclaration): Record<string, string>;
  close(): Promise<void>;
}

const tableResources = (Object.keys(resourceBindings) as ResourceName[]).filter(
  (name): name is TableResource => 'dynamoDbTable' in resourceBindings[name],
);

export async function startLocalDynamoDb(options: {
  declarations: readonly FunctionDeclaration[];
  region: string;
  /** Prefix of the local table names (the stage's resource prefix). */
  prefix: string;
}): Promise<LocalDynamoDb> {
  const tableNames = Object.fromEntries(
    tableResources.map((name) => [name, `${options.prefix}-${kebab(name).replace(/-table$/, '')}`]),
  ) as Record<TableResource, string>;
  const needed = tableResources.filter((name) => options.declarations.some((d) => d.access.includes(name)));
  const usesTables = (declaration: FunctionDeclaration) =>
    declaration.access.some((name) => (needed as ResourceName[]).includes(name));
  if (needed.length === 0) {
    return { endpoint: undefined, tableNames, environmentFor: () => ({}), close: async () => undefined };
  }

  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // Put the loopback guard in front of dynalite's own handler.
  const [dynaliteHandler] = server.listeners('request') as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  if (!dynaliteHandler) throw new Error('dynalite has no request handler');
  server.removeAllListeners('request');
  let port = 0;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!isLoopbackHost(req.headers.host, port) || req.headers.origin !== undefined) {
      res.writeHead(403, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException' }));
      return;
    }
    dynaliteHandler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));

  try {
    const client = new DynamoDBClient({
      endpoint,
      region: options.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    for (const name of needed) {
      const { partitionKey } = resourceBindings[name].dynamoDbTable;
      await client.send(
        new CreateTableCommand({
          TableName: tableNames[name],
          AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await waitUntilTableExists(
        { client, minDelay: 1, maxDelay: 1, maxWaitTime: 10 },
        { TableName: tableNames[name] },
      );
    }
    client.destroy();
  } catch (error) {
    await close();
    throw error;
  }

  return {
    endpoint,
    tableNames,
    environmentFor: (declaration): Record<string, string> =>
      usesTables(declaration) ? { AWS_ENDPOINT_URL_DYNAMODB: endpoint } : {},
    close,
  };
}

/** 127.0.0.1, localhost or [::1], on this port (a DNS-rebinding page sends its own host name). */
function isLoopbackHost(host: string | undefined, port: number): boolean {
  return (
    host !== undefined &&
    [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase())
  );
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
