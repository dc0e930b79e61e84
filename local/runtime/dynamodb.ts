import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { type FunctionDeclaration, type ResourceName, resourceBindings } from '#functions/declaration.ts';
import { type Caller, principalArn, SandboxIdentities, signedRequest } from './aws-auth.ts';
import { isLoopbackHost, parseRequestUrl, readBounded } from './guards.ts';

/**
 * DynamoDB, locally: dynalite (in memory) on loopback, with every table a declared function's
 * `access` names (the tables whose binding declares `dynamoDbTable`), created at start. Sandboxes
 * reach it through the SDK's service-specific endpoint variable, `AWS_ENDPOINT_URL_DYNAMODB`, and
 * the table name is the resource's value, as in AWS. It answers only requests addressed to loopback
 * and never a browser's (dynalite itself allows any origin), so a web page cannot read or write it.
 *
 * In front of dynalite (which checks no signature), every request is identified as the runtime's
 * other AWS endpoints do it (`SandboxIdentities`: the sandbox's SigV4 signature recomputed), and a
 * sandbox may use only the binding's declared `actions` on the tables its function's `access` names,
 * as the stack's grant allows in AWS. Anyone else (any other key, an unsigned or badly signed call) gets nothing:
 * run records decide what a sweep does (dry run, reference time), so only the sweep may write them.
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

/** DynamoDB's own bound on a request (16 MB); nothing larger is read. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const TARGET_PREFIX = 'DynamoDB_20120810.';
/** The runtime's own identity while it creates the tables; revoked once they exist. */
const SET_UP = '(local DynamoDB set-up)';

export async function startLocalDynamoDb(options: {
  declarations: readonly FunctionDeclaration[];
  region: string;
  /** Prefix of the local table names (the stage's resource prefix). */
  prefix: string;
  /** Whose signatures count (the runtime's, so sandbox credentials work here as on its other endpoints). */
  identities?: SandboxIdentities | undefined;
  /** The account in access-denied messages. */
  accountId?: string | undefined;
}): Promise<LocalDynamoDb> {
  const identities = options.identities ?? new SandboxIdentities();
  const accountId = options.accountId ?? '000000000000';
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
  /** Requests being answered: closing waits for them, or dynalite writes to a closed database. */
  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    });
    if (!isLoopbackHost(req.headers.host, port, '127.0.0.1') || req.headers.origin !== undefined) {
      res.writeHead(403, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException' }));
      return;
    }
    authorize(req).then(
      (outcome) => {
        if ('refused' in outcome) {
          res.writeHead(outcome.status, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify(outcome.refused));
          return;
        }
        // dynalite reads the request as a stream: give it the body already read.
        const replay = Object.assign(Readable.from([outcome.body]), {
          headers: req.headers,
          method: req.method,
          url: req.url,
        });
        dynaliteHandler(replay as unknown as IncomingMessage, res);
      },
      () => {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError' }));
      },
    );
  });

  type Outcome = { body: Buffer } | { status: number; refused: { __type: string; Message: string } };
  const coral = (type: string, message: string, status = 400): Outcome => ({
    status,
    refused: { __type: `com.amazon.coral.service#${type}`, Message: message },
  });
  async function authorize(req: IncomingMessage): Promise<Outcome> {
    const body = await readBounded(req, MAX_REQUEST_BYTES);
    if (body === undefined) return coral('RequestEntityTooLarge', 'Request Entity Too Large', 413);
    const url = parseRequestUrl(req.url);
    if (!url) return coral('SerializationException', 'Malformed request target');
    const identified = await identities.identify(signedRequest(req, url, body));
    if (!identified.ok) return coral(identified.type, identified.message);
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    let tableName = '';
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
      const named = (parsed as { TableName?: unknown } | null)?.TableName;
      if (typeof named === 'string') tableName = named;
    } catch {
      // Not JSON: no table named, so nothing is allowed; dynalite never sees it.
    }
    if (allowed(identified.caller, action, tableName)) return { body };
    const who = principalArn(identified.caller, accountId);
    return coral(
      'AccessDeniedException',
      `User: ${who} is not authorized to perform: dynamodb:${action.slice(0, 64)} on resource: arn:aws:dynamodb:${options.region}:${accountId}:table/${tableName.slice(0, 255)} because no identity-based policy allows the dynamodb:${action.slice(0, 64)} action`,
    );
  }
  /** Actions that name one table (TableName); batch, transaction and PartiQL calls are never granted. */
  function allowed(caller: Caller, action: string, tableName: string): boolean {
    if (caller.kind !== 'sandbox') return false;
    const table = tableResources.find((name) => tableNames[name] === tableName);
    if (!table || !needed.includes(table)) return false;
    if (caller.functionName === SET_UP) return action === 'CreateTable' || action === 'DescribeTable';
    const declaration = options.declarations.find((d) => d.name === caller.functionName);
    return (
      declaration?.access.includes(table) === true &&
      (resourceBindings[table].dynamoDbTable.actions as readonly string[]).includes(action)
    );
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const close = async () => {
    // A sandbox's last call may still be in dynalite when the runtime stops (at most a few seconds).
    if (inFlight > 0) {
      await new Promise<void>((resolve) => {
        drained = resolve;
        setTimeout(resolve, 5000).unref();
      });
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  const setUp = identities.issue(SET_UP);
  try {
    const client = new DynamoDBClient({ endpoint, region: options.region, credentials: setUp });
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
  } finally {
    identities.revoke(setUp.accessKeyId);
  }

  return {
    endpoint,
    tableNames,
    environmentFor: (declaration): Record<string, string> =>
      usesTables(declaration) ? { AWS_ENDPOINT_URL_DYNAMODB: endpoint } : {},
    close,
  };
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
