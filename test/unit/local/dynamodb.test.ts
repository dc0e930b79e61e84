import { request } from 'node:http';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { SandboxIdentities } from '#local/runtime/aws-auth.ts';
import { type LocalDynamoDb, startLocalDynamoDb } from '#local/runtime/dynamodb.ts';

/**
 * The local DynamoDB's front door, with the real SDK: only a sandbox whose function's `access` names
 * a table may use it, and only with the actions the stack grants; everyone else is refused in
 * DynamoDB's own error shape, and dynalite never sees their request.
 */
let dynamo: LocalDynamoDb;
const identities = new SandboxIdentities();
const asStaleDeals = identities.issue('stale-deals');
const asLeadSync = identities.issue('lead-sync');
let table: string;

const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const item = (runId: string) => ({ runId: { S: runId }, status: { S: 'running' }, dryRun: { BOOL: false } });

beforeAll(async () => {
  dynamo = await startLocalDynamoDb({
    declarations: catalog,
    region: 'us-east-1',
    prefix: 'auth',
    identities,
  });
  table = dynamo.tableNames.sweepRunsTable;
});
afterAll(async () => {
  await dynamo?.close();
});

describe('the local DynamoDB', () => {
  it("serves the sweep's sandbox its own table, with the actions its grant allows", async () => {
    const sweep = client(asStaleDeals);
    await sweep.send(new PutItemCommand({ TableName: table, Item: item('own') }));
    const read = await sweep.send(new GetItemCommand({ TableName: table, Key: { runId: { S: 'own' } } }));
    expect(read.Item).toEqual(item('own'));
  });

  it('refuses the sandbox anything beyond its grant: other actions, other tables, table management', async () => {
    const sweep = client(asStaleDeals);
    for (const command of [
      new DeleteItemCommand({ TableName: table, Key: { runId: { S: 'own' } } }),
      new ScanCommand({ TableName: table }),
      new ListTablesCommand({}),
      new PutItemCommand({ TableName: 'another-table', Item: item('x') }),
      new CreateTableCommand({
        TableName: 'made-up',
        AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    ]) {
      await expect(sweep.send(command as never)).rejects.toMatchObject({
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      });
    }
    // The item is still there: the refused DeleteItem never reached dynalite.
    const read = await sweep.send(new GetItemCommand({ TableName: table, Key: { runId: { S: 'own' } } }));
    expect(read.Item?.runId).toEqual({ S: 'own' });
  });

  it("refuses another function's sandbox and any outside key, reading or writing", async () => {
    for (const credentials of [asLeadSync, { accessKeyId: 'outsider', secretAccessKey: 'outsider' }]) {
      const caller = client(credentials);
      await expect(
        caller.send(new PutItemCommand({ TableName: table, Item: item('forged') })),
      ).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringMatching(/not authorized to perform: dynamodb:PutItem/),
      });
      await expect(
        caller.send(new GetItemCommand({ TableName: table, Key: { runId: { S: 'own' } } })),
      ).rejects.toMatchObject({ name: 'AccessDeniedException' });
      await expect(caller.send(new ListTablesCommand({}))).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
    }
    const read = await client(asStaleDeals).send(
      new GetItemCommand({ TableName: table, Key: { runId: { S: 'forged' } } }),
    );
    expect(read.Item).toBeUndefined();
  });

  it("refuses the sweep's key signed with another secret", async () => {
    const impostor = client({ accessKeyId: asStaleDeals.accessKeyId, secretAccessKey: 'guessed' });
    await expect(
      impostor.send(new PutItemCommand({ TableName: table, Item: item('forged') })),
    ).rejects.toMatchObject({ name: 'InvalidSignatureException' });
  });

  /** A raw call with the given headers; resolves with the status and body. */
  const raw = (headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${dynamo.endpoint}/`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': 'DynamoDB_20120810.ListTables',
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.on('error', reject);
      req.end('{}');
    });

  it('answers an unsigned call with MissingAuthenticationToken', async () => {
    const answer = await raw({});
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
    });
  });

  it('answers neither another host name (DNS rebinding) nor a browser', async () => {
    const port = new URL(dynamo.endpoint ?? '').port;
    expect((await raw({ host: 'evil.example' })).status).toBe(403);
    expect((await raw({ host: `evil.example:${port}` })).status).toBe(403);
    expect((await raw({ host: `localhost:${port}`, origin: 'https://evil.example' })).status).toBe(403);
  });
});
