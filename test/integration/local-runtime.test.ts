import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeadLetter, InvocationRecord } from '#local/runtime/records.ts';
import {
  LOCAL_BUS_NAME,
  LOCAL_SALESCALING_SECRET_ID,
  LOCAL_SIGNING_SECRETS_ID,
  type LocalRuntime,
  startLocalRuntime,
} from '#local/runtime/runtime.ts';
import { type LocalSystem, startLocalSystem, startQuietRuntime } from '#local/tools/system.ts';
import { fixtureCatalog } from '#test/fixtures/catalog.ts';
import { putOnBus } from '#test/support/bus.ts';
import { eventually } from '#test/support/eventually.ts';
import { quiet } from '#test/support/quiet.ts';
import { sandboxEventBridge } from '#test/support/sandbox.ts';

/**
 * The local runtime over real HTTP, with fixture functions that use the real middy stack,
 * Powertools batch and parameters, and the real AWS SDK clients.
 */
let runtime: LocalRuntime;
let events: EventBridgeClient;
const lines: string[] = [];

beforeAll(async () => {
  runtime = await startQuietRuntime({
    declarations: fixtureCatalog,
    secrets: { salescalingApiKey: 'fixture-key-123' },
    queueRetryDelayMs: 10,
    scheduleRetryDelayMs: 10,
    log: (line) => lines.push(line),
  });
  events = new EventBridgeClient({
    endpoint: runtime.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

beforeEach(async () => {
  await quiet(runtime);
  runtime.deadLetters.clear();
  runtime.invocations.clear();
  runtime.bus.events.clear();
});

afterAll(async () => {
  await runtime?.close();
});

const get = async <T>(path: string): Promise<T> =>
  (await fetch(`${runtime.url}${path}`)).json() as Promise<T>;

async function put(detailType: string, detail: Record<string, unknown>) {
  return putOnBus(events, detailType, detail, { source: 'test.fixture' });
}

describe('HTTP routes', () => {
  it('reach their handler with API Gateway payload 2.0 and the declared environment', async () => {
    const response = await fetch(`${runtime.url}/echo/abc%20d?x=1&x=2&y=z`);
    expect(response.status).toBe(200);
    expect(response.headers.get('apigw-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({
      version: '2.0',
      routeKey: 'GET /echo/{id}',
      rawPath: '/echo/abc%20d',
      pathParameters: { id: 'abc d' },
      queryStringParameters: { x: '1,2', y: 'z' },
      headers: { contentType: null },
      body: null,
      isBase64Encoded: false,
      environment: {
        STAGE: 'local',
        FIXTURE_SETTING: 'from-the-declaration',
        EVENT_BUS_NAME: LOCAL_BUS_NAME,
      },
    });
    expect(lines.some((line) => /echo-http ← http GET \/echo\/abc%20d: 200/.test(line))).toBe(true);
  });

  it('passes text bodies as text and binary bodies as base64', async () => {
    const text = await (
      await fetch(`${runtime.url}/echo`, {
        method: 'POST',
        body: 'a=1&b=2',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
    ).json();
    expect(text).toMatchObject({ body: 'a=1&b=2', isBase64Encoded: false, routeKey: 'POST /echo' });
    const binary = await (
      await fetch(`${runtime.url}/echo`, {
        method: 'POST',
        body: Buffer.from([0, 1, 2]),
        headers: { 'content-type': 'application/octet-stream' },
      })
    ).json();
    expect(binary).toMatchObject({ body: 'AAEC', isBase64Encoded: true });
  });

  it('answers 404 like API Gateway for unknown routes and methods', async () => {
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['DELETE', '/echo/1'],
    ] as const) {
      const response = await fetch(`${runtime.url}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ message: 'Not Found' });
    }
  });

  it('answers 500 when a function fails at cold start, and says why in the log line', async () => {
    const response = await fetch(`${runtime.url}/broken`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
    const [invocation] = await get<InvocationRecord[]>('/_local/invocations?function=broken-config');
    expect(invocation?.detail).toMatch(/FIXTURE_REQUIRED_SETTING/);
  });

  it('serves secrets through the Secrets Manager API, so functions read them as in AWS', async () => {
    expect(await get('/secret-check')).toEqual({
      secretId: 'salescaling-automation/local/salescaling-api-key',
      length: 'fixture-key-123'.length,
    });
    const secrets = new SecretsManagerClient({
      endpoint: runtime.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    // Only the functions read them: an outside caller gets nothing, whatever it asks for.
    for (const SecretId of [LOCAL_SALESCALING_SECRET_ID, LOCAL_SIGNING_SECRETS_ID, 'nope']) {
      await expect(secrets.send(new GetSecretValueCommand({ SecretId }))).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.not.stringContaining('fixture-key-123'),
      });
    }
  });
});

describe('event bus and queues', () => {
  it('delivers a put event to the matching function only, which publishes through the same API', async () => {
    const put1 = await put('Fixture Requested', { marker: 'm1' });
    expect(put1.FailedEntryCount).toBe(0);
    const eventId = put1.Entries?.[0]?.EventId;
    const processed = await eventually(
      () =>
        get<Array<{ detail: { originalId: string; marker: string } }>>(
          '/_local/events?detail-type=Fixture%20Processed',
        ),
      (list) => list.length === 1,
    );
    expect(processed[0]?.detail).toMatchObject({ originalId: eventId, marker: 'm1' });
    // The function publishes during its invocation, so wait for the invocation to be recorded too.
    const invocations = await eventually(
      () => get<InvocationRecord[]>('/_local/invocations'),
      (list) => list.some((i) => i.functionName === 'process-events'),
    );
    const invoked = invocations.map((i) => i.functionName);
    expect(invoked).toContain('process-events');
    expect(invoked).not.toContain('always-fails');
  });

  it('does not deliver events whose content does not match the pattern', async () => {
    await put('Fixture Doomed', { priority: 0 });
    await put('Fixture Requested', { marker: 'after' });
    // The later event is processed; the earlier one matched no rule (priority must be >= 1).
    await eventually(
      () => get<unknown[]>('/_local/events?detail-type=Fixture%20Processed'),
      (list) => list.length === 1,
    );
    expect(await get<InvocationRecord[]>('/_local/invocations?function=always-fails')).toEqual([]);
  });

  it('retries a failing function, then dead-letters the message with the reason', async () => {
    await put('Fixture Doomed', { priority: 2 });
    const [letter] = await eventually(
      () => get<DeadLetter[]>('/_local/dead-letters'),
      (list) => list.length === 1,
    );
    expect(letter).toMatchObject({
      source: 'queue:fixture-doomed',
      functionName: 'always-fails',
      attempts: 3,
      reason: expect.stringContaining('fixture failure: always fails'),
      payload: expect.objectContaining({ 'detail-type': 'Fixture Doomed', detail: { priority: 2 } }),
    });
    expect(await get<InvocationRecord[]>('/_local/invocations?function=always-fails')).toHaveLength(3);
  });

  it('redelivers only the records a batch reported as failed', async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: ['ok-1', 'bad', 'ok-2'].map((marker) => ({
          EventBusName: LOCAL_BUS_NAME,
          Source: 'test.fixture',
          DetailType: 'Fixture Requested',
          Detail: JSON.stringify({ marker, fail: marker === 'bad' }),
        })),
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
    const [letter] = await eventually(
      () => get<DeadLetter[]>('/_local/dead-letters'),
      (list) => list.length === 1,
    );
    // First delivery: a batch item failure among successes. Redelivered alone, the whole batch
    // fails, which Powertools reports by throwing (as it does in AWS).
    expect(letter?.attempts).toBe(2);
    expect(letter?.reason).toMatch(/All records failed processing/);
    expect(letter?.payload).toMatchObject({ detail: { marker: 'bad', fail: true } });
    const processed = await get<Array<{ detail: { marker: string; receiveCount: string } }>>(
      '/_local/events?detail-type=Fixture%20Processed',
    );
    expect(processed.map((e) => e.detail.marker).sort()).toEqual(['ok-1', 'ok-2']);
    expect(processed.every((e) => e.detail.receiveCount === '1')).toBe(true);
  });

  it('rejects malformed entries per entry, as PutEvents does', async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: LOCAL_BUS_NAME,
            Source: 'test.fixture',
            DetailType: 'Fixture Requested',
            Detail: 'not json',
          },
          { EventBusName: LOCAL_BUS_NAME, Source: 'test.fixture', DetailType: 'X' },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.map((e) => e.ErrorCode)).toEqual(['MalformedDetail', 'InvalidArgument']);
  });
});

describe('schedules', () => {
  it('fire on demand with their input', async () => {
    const response = await fetch(`${runtime.url}/_local/schedules/fixture-tick`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ok: true,
      result: { received: { job: 'tick', dryRun: true } },
    });
    const [scheduled] = await get<Array<{ detail: unknown }>>(
      '/_local/events?detail-type=Fixture%20Scheduled',
    );
    expect(scheduled?.detail).toEqual({ input: { job: 'tick', dryRun: true } });
  });

  it('retry a failing run, then dead-letter it', async () => {
    const response = await fetch(`${runtime.url}/_local/schedules/fixture-doomed-nightly`, {
      method: 'POST',
    });
    expect(response.status).toBe(502);
    expect(await get<DeadLetter[]>('/_local/dead-letters')).toEqual([
      expect.objectContaining({
        source: 'schedule:fixture-doomed-nightly',
        attempts: 3,
        functionName: 'always-fails',
      }),
    ]);
  });

  it('list their next run in their time zone', async () => {
    const described = await get<{
      schedules: Array<{ schedule: string; expression: string; timeZone: string }>;
    }>('/_local/functions');
    expect(described.schedules).toContainEqual(
      expect.objectContaining({
        schedule: 'fixture-tick',
        expression: 'cron(0 7 ? * MON-FRI *)',
        timeZone: 'Europe/Madrid',
      }),
    );
    const tick = runtime.schedules.find((s) => s.trigger.name === 'fixture-tick');
    const next = tick?.nextRun();
    expect(next).toBeInstanceOf(Date);
    const madrid = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Madrid',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
    }).format(next);
    expect(madrid).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 07:00$/);
  });
});

describe('start-up errors', () => {
  it('says which port is taken', async () => {
    await expect(
      startLocalRuntime({
        declarations: [],
        port: runtime.port,
        platform: {
          logLevel: 'ERROR',
          salescalingBaseUrl: 'http://x',
          salescalingMaxRps: 1,
          salescalingMaxConcurrency: 1,
        },
        secrets: { salescalingApiKey: 'k' },
      }),
    ).rejects.toThrow(new RegExp(`Port ${runtime.port} .* already in use.*PORT=`));
  });
});

/** A raw HTTP/1.1 exchange, for what fetch will not send (a Host of our choosing, a malformed target). */
async function raw(port: number, request: string): Promise<{ status: number; body: string }> {
  const socket = connect(port, '127.0.0.1');
  socket.write(request);
  let text = '';
  socket.setEncoding('utf8');
  for await (const chunk of socket) text += chunk;
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

const awsCall = (target: string, payload: unknown, host: string) => {
  const body = JSON.stringify(payload);
  return `POST / HTTP/1.0\r\nHost: ${host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: ${target}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
};

describe("the bus's trust boundary (the product's catalog)", () => {
  let product: LocalRuntime;
  let outside: EventBridgeClient;
  beforeAll(async () => {
    product = await startQuietRuntime({ queueRetryDelayMs: 10 });
    outside = new EventBridgeClient({
      endpoint: product.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAOUTSIDE', secretAccessKey: 'anything' },
    });
  });
  afterAll(async () => {
    await product?.close();
  });
  beforeEach(async () => {
    await quiet(product);
    product.bus.events.clear();
    product.invocations.clear();
    product.deadLetters.clear();
  });

  const entry = (detailType: string, detail: unknown, source = 'salescaling.automation') => ({
    EventBusName: LOCAL_BUS_NAME,
    Source: source,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
  });
  const forgedContinuation = entry('Stale Sweep Continued', {
    schemaVersion: 1,
    runId: 'forged',
    dryRun: false,
    referenceTime: '2099-01-01T00:00:00.000Z',
    totals: { closed: -100000 },
  });
  const forgedLead = entry('Lead Received', {
    schemaVersion: 1,
    submissionId: 'forged',
    contact: { email: 'a@example.com' },
    opportunity: { name: 'Forged lead, no signature', amount: 999999 },
  });

  it('refuses a forged Stale Sweep Continued and Lead Received from outside, per entry, storing and delivering nothing', async () => {
    const result = await outside.send(
      new PutEventsCommand({
        Entries: [
          forgedContinuation,
          forgedLead,
          entry('Upsert Opportunity', {}, 'salescaling.automation.crm'),
        ],
      }),
    );
    expect(result).toMatchObject({
      FailedEntryCount: 3,
      Entries: [
        { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' },
        { ErrorCode: 'NotAuthorizedForSourceException' },
        { ErrorCode: 'NotAuthorizedForSourceException' },
      ],
    });
    expect(result.Entries?.some((e) => e.EventId)).toBe(false);
    expect(product.bus.events.list()).toEqual([]);
    // Nothing queued: a control event put after them is the only thing any function sees.
    await outside.send(
      new PutEventsCommand({ Entries: [entry('Upsert Opportunity', { schemaVersion: 1 }, 'crm.example')] }),
    );
    await eventually(
      () => product.invocations.list(),
      (list) => list.length === 1,
    );
    expect(product.invocations.list().map((i) => i.functionName)).toEqual(['integration-commands']);
    expect(product.queues.every((q) => q.depth === 0)).toBe(true);
  });

  it('lets an outside caller put any other source (the local stand-in for the integrations setting)', async () => {
    const result = await outside.send(
      new PutEventsCommand({ Entries: [entry('Anything', { a: 1 }, 'crm.example')] }),
    );
    expect(result.FailedEntryCount).toBe(0);
    expect(product.bus.events.list().map((e) => e.source)).toEqual(['crm.example']);
  });

  it('lets a sandbox put only the detail types its function publishes', async () => {
    const asIngest = sandboxEventBridge(product, 'lead-ingest');
    const result = await asIngest.send(new PutEventsCommand({ Entries: [forgedContinuation] }));
    expect(result).toMatchObject({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'NotAuthorizedForDetailTypeException' }],
    });
    const asHealth = sandboxEventBridge(product, 'api-health');
    expect(await asHealth.send(new PutEventsCommand({ Entries: [forgedLead] }))).toMatchObject({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'NotAuthorizedForDetailTypeException' }],
    });
    expect(product.bus.events.list()).toEqual([]);
  });

  it("refuses a sandbox's key signed with the wrong secret, or a replayed body", async () => {
    const accessKeyId = product.hosts.get('lead-ingest')?.environment.AWS_ACCESS_KEY_ID ?? '';
    expect(accessKeyId).toMatch(/^LSBX[0-9A-F]{16}$/);
    const impostor = new EventBridgeClient({
      endpoint: product.url,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey: 'guessed' },
    });
    await expect(impostor.send(new PutEventsCommand({ Entries: [forgedLead] }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 403 },
    });
    // The right signature over another body (a captured request, edited).
    const asIngest = sandboxEventBridge(product, 'lead-ingest');
    asIngest.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body: string };
        request.body = request.body.replace('forged', 'edited');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'tamper' },
    );
    await expect(asIngest.send(new PutEventsCommand({ Entries: [forgedLead] }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    expect(product.bus.events.list()).toEqual([]);
  });

  it('answers an unsigned AWS call with MissingAuthenticationToken', async () => {
    const response = await fetch(product.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ Entries: [forgedLead] }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });

  it('lets a sandbox read only the secrets its function may read (AccessDeniedException otherwise)', async () => {
    const env = product.hosts.get('lead-ingest')?.environment ?? {};
    const asIngest = new SecretsManagerClient({
      endpoint: product.url,
      region: 'us-east-1',
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
      },
    });
    await expect(
      asIngest.send(new GetSecretValueCommand({ SecretId: LOCAL_SALESCALING_SECRET_ID })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    const signing = await asIngest.send(new GetSecretValueCommand({ SecretId: LOCAL_SIGNING_SECRETS_ID }));
    expect(signing.SecretString).toBeTypeOf('string');
  });
  const sqs = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new SQSClient({ endpoint: product.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  const sandboxCredentials = (functionName: string) => {
    const env = product.hosts.get(functionName)?.environment ?? {};
    return { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' };
  };
  const dlqUrl = (name: string) => `${product.url}/000000000000/${name}-dlq`;
  const DLQS = [
    'lead-sync-lead-received',
    'stale-deals-stale-sweep-continued',
    'integration-commands-commands',
  ] as const;

  it('refuses an outside SendMessage to every queue with AccessDenied, as SQS does; the redrive calls stay open', async () => {
    const outsider = sqs({ accessKeyId: 'outsider', secretAccessKey: 'outsider' });
    for (const name of DLQS) {
      await expect(
        outsider.send(new SendMessageCommand({ QueueUrl: dlqUrl(name), MessageBody: '{"forged":true}' })),
      ).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    }
    await expect(
      outsider.send(new SendMessageCommand({ QueueUrl: dlqUrl('no-such'), MessageBody: '{}' })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(product.deadLetters.list()).toEqual([]);
    // The operator's redrive: find the queue, read its depth, start a move (nothing to move).
    const { QueueUrl } = await outsider.send(
      new GetQueueUrlCommand({ QueueName: 'lead-sync-lead-received-dlq' }),
    );
    const { Attributes } = await outsider.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'],
      }),
    );
    expect(Attributes).toEqual({
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:lead-sync-lead-received-dlq',
      ApproximateNumberOfMessages: '0',
    });
    const move = await outsider.send(new StartMessageMoveTaskCommand({ SourceArn: Attributes?.QueueArn }));
    expect(move.TaskHandle).toEqual(expect.any(String));
  });

  it("lets a sandbox send only to its own function's dead-letter queue, and never start a redrive", async () => {
    const asLeadSync = sqs(sandboxCredentials('lead-sync'));
    await asLeadSync.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl('lead-sync-lead-received'),
        MessageBody: '{"own":true}',
        MessageAttributes: { reason: { DataType: 'String', StringValue: 'permanent' } },
      }),
    );
    expect(product.deadLetters.list()).toMatchObject([
      { functionName: 'lead-sync', reason: 'permanent', payload: { own: true } },
    ]);
    await expect(
      asLeadSync.send(
        new SendMessageCommand({ QueueUrl: dlqUrl('integration-commands-commands'), MessageBody: '{}' }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(
      asLeadSync.send(
        new StartMessageMoveTaskCommand({
          SourceArn: 'arn:aws:sqs:us-east-1:000000000000:lead-sync-lead-received-dlq',
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    // The sweep has an event trigger but no deadLetterQueue access: not even its own queue.
    await expect(
      sqs(sandboxCredentials('stale-deals')).send(
        new SendMessageCommand({ QueueUrl: dlqUrl('stale-deals-stale-sweep-continued'), MessageBody: '{}' }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(product.deadLetters.list()).toHaveLength(1);
  });
});

describe('the local tooling fails closed', () => {
  it('answers 400 to a malformed path parameter or request target, never a 500', async () => {
    const response = await fetch(`${runtime.url}/echo/%`);
    expect(response.status).toBe(400);
    expect(await response.text()).not.toMatch(/at .*\.ts:\d+/);
    expect((await fetch(`${runtime.url}/_local/schedules/%`, { method: 'POST' })).status).toBe(400);
    const target = await raw(
      runtime.port,
      'GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(target.status).toBe(400);
    expect(runtime.invocations.list().filter((i) => i.functionName === 'echo-http')).toEqual([]);
  });

  it('answers its AWS endpoints and /_local/ only to requests addressed to loopback', async () => {
    const secret = (host: string) =>
      raw(
        runtime.port,
        awsCall('secretsmanager.GetSecretValue', { SecretId: LOCAL_SALESCALING_SECRET_ID }, host),
      );
    const rebound = await secret(`evil.example:${runtime.port}`);
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('fixture-key-123');
    expect((await secret(`127.0.0.1.evil.example:${runtime.port}`)).status).toBe(403);
    expect((await secret(`127.0.0.1:${runtime.port + 1}`)).status).toBe(403);
    // Addressed to loopback, the call gets past the Host check to the endpoint itself (which refuses
    // an outside caller the secret: a 400 in Secrets Manager's shape, not the Host check's 403).
    for (const host of [`127.0.0.1:${runtime.port}`, `localhost:${runtime.port}`, `[::1]:${runtime.port}`]) {
      const answer = await secret(host);
      expect(answer.status, host).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ __type: 'AccessDeniedException' });
      expect(answer.body).not.toContain('fixture-key-123');
    }
    const letters = await raw(
      runtime.port,
      `GET /_local/dead-letters HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    );
    expect(letters.status).toBe(403);
    // The function routes are the public API: any Host reaches them.
    const echo = await raw(
      runtime.port,
      `GET /echo/a HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n`,
    );
    expect(echo.status).toBe(200);
  });

  it("refuses a browser's cross-site request to /_local/ (a form firing a schedule)", async () => {
    const response = await fetch(`${runtime.url}/_local/schedules/fixture-tick`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(response.status).toBe(403);
    expect(runtime.invocations.list().filter((i) => i.functionName === 'scheduled')).toEqual([]);
  });

  it('refuses an event it could not store or serve before storing it, with EventBridge errors', async () => {
    let deep = '{}';
    for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`;
    const result = await put('Fixture Requested', {});
    expect(result.FailedEntryCount).toBe(0);
    runtime.bus.events.clear();
    const refused = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: LOCAL_BUS_NAME, Source: 'test.fixture', DetailType: 'Deep', Detail: deep },
          {
            EventBusName: LOCAL_BUS_NAME,
            Source: 'test.fixture',
            DetailType: 'Deep in a string',
            Detail: JSON.stringify({ text: '['.repeat(5000) }),
          },
        ],
      }),
    );
    expect(refused).toMatchObject({
      FailedEntryCount: 1,
      Entries: [
        { ErrorCode: 'MalformedDetail', ErrorMessage: expect.stringMatching(/deeper than 100/) },
        { EventId: expect.any(String) },
      ],
    });
    const big = JSON.stringify({ text: 'x'.repeat(200 * 1024) });
    await expect(
      events.send(
        new PutEventsCommand({
          Entries: [
            { EventBusName: LOCAL_BUS_NAME, Source: 'test.fixture', DetailType: 'Big', Detail: big },
            { EventBusName: LOCAL_BUS_NAME, Source: 'test.fixture', DetailType: 'Big', Detail: big },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    await expect(
      events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'test.fixture', DetailType: 'Late', Detail: '{}', Time: new Date(Number.NaN) }],
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    const served = await fetch(`${runtime.url}/_local/events`);
    expect(served.status).toBe(200);
    const stored = ((await served.json()) as Array<{ 'detail-type': string }>).map((e) => e['detail-type']);
    expect(stored.filter((type) => ['Deep', 'Deep in a string', 'Big', 'Late'].includes(type))).toEqual([
      'Deep in a string',
    ]);
  });

  it('bound to every interface, still serves its own functions (their AWS calls come from loopback)', async () => {
    const wildcard = await startQuietRuntime({
      declarations: fixtureCatalog,
      host: '0.0.0.0',
      secrets: { salescalingApiKey: 'fixture-key-123' },
    });
    try {
      // Its functions reach it, and the user's browser does, at a loopback address, never 0.0.0.0
      // (a Host the runtime's own endpoints rightly refuse).
      expect(wildcard.url).toBe(`http://127.0.0.1:${wildcard.port}`);
      const answer = await fetch(`${wildcard.url}/secret-check`);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({
        secretId: 'salescaling-automation/local/salescaling-api-key',
        length: 'fixture-key-123'.length,
      });
    } finally {
      await wildcard.close();
    }
  });

  it('answers 400, never a 500, to a JSON body nested deeper than any real request', async () => {
    // 100,000 levels: a recursive String(), JSON.stringify or structured clone of it overflows the stack.
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const outsider = `AWS4-HMAC-SHA256 Credential=AKIAOUTSIDE/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`;
    const aws = (target: string, body: string) =>
      fetch(`${runtime.url}/`, {
        method: 'POST',
        headers: {
          'x-amz-target': target,
          'content-type': 'application/x-amz-json-1.0',
          authorization: outsider,
        },
        body,
      });
    for (const [target, body] of [
      ['AmazonSQS.ListMessageMoveTasks', `{"SourceArn":${deep}}`],
      ['AmazonSQS.ChangeMessageVisibility', `{"QueueUrl":${deep}}`],
      ['AWSEvents.PutEvents', `{"Entries":${deep}}`],
    ] as const) {
      const answer = await aws(target, body);
      expect(answer.status, target).toBe(400);
      expect(await answer.json(), target).toMatchObject({ __type: 'SerializationException' });
    }
    const schedule = await fetch(`${runtime.url}/_local/schedules/fixture-tick`, {
      method: 'POST',
      body: `{"x":${deep}}`,
    });
    expect(schedule.status).toBe(400);
    expect(await schedule.json()).toEqual({ message: expect.stringMatching(/nests deeper than 100/) });
    const command = await fetch(`${runtime.console.url}api/actions/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-console-token': runtime.console.token },
      body: `{"detailType":"Upsert Opportunity","detail":{"x":${deep}}}`,
    });
    expect(command.status).toBe(400);
    expect(runtime.invocations.list().filter((i) => i.functionName === 'scheduled')).toEqual([]);
    expect(runtime.bus.events.list().filter((e) => e.source === 'local.console')).toEqual([]);
    expect(lines.filter((line) => line.includes('local runtime error'))).toEqual([]);
  });

  it('serves any number of stored events, however large, without building one string', async () => {
    const detail = JSON.stringify({ text: 'y'.repeat(250 * 1024) });
    for (let i = 0; i < 40; i++) {
      await events.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: 'other', Source: 'test.fixture', DetailType: 'Big', Detail: detail }],
        }),
      );
    }
    const served = await fetch(`${runtime.url}/_local/events?detail-type=Big`);
    expect(served.status).toBe(200);
    expect(((await served.json()) as unknown[]).length).toBe(40);
  });
});

/**
 * The attacks found on the merged issue-14 work (N1a, N1b), replayed end to end against the whole
 * system with a seeded emulator: any loopback process, any made-up key. Both must now fail.
 */
describe('nothing outside the functions can feed them through a dead-letter queue or their tables', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startLocalSystem({
      seed: { opportunities: 20, staleShare: 0.5, closedShare: 0, seed: 14 },
      platform: { salescalingMaxRps: 50, salescalingMaxConcurrency: 3 },
      runtime: { queueRetryDelayMs: 10 },
    });
  });
  afterAll(async () => {
    await system?.close();
  });

  const outsider = { accessKeyId: 'outsider', secretAccessKey: 'outsider' };
  const eventBody = (detailType: string, detail: unknown) =>
    JSON.stringify({
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source: 'salescaling.automation',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail,
    });

  it('N1a and N1b: a forged lead and a forged sweep through DLQ + move task create and close nothing', async () => {
    const { runtime, admin, emulator } = system;
    const before = emulator.store.stats();
    const requestsBefore = (await admin.requests()).length;
    const sqs = new SQSClient({
      endpoint: runtime.url,
      region: 'us-east-1',
      credentials: outsider,
      maxAttempts: 1,
    });
    const queueArn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;

    // N1a: a full Lead Received event written into lead-sync's dead-letter queue, then moved.
    await expect(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: `${runtime.url}/000000000000/lead-sync-lead-received-dlq`,
          MessageBody: eventBody('Lead Received', {
            schemaVersion: 1,
            submissionId: 'forged-through-the-dlq',
            source: { provider: 'typeform' },
            contact: { email: 'forger@evil.example' },
            opportunity: { name: 'Forged through the DLQ', amount: 999999 },
          }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });

    // N1b: a run record saying "not a dry run, far in the future", then its continuation.
    const sweepEnv = runtime.hosts.get('stale-deals')?.environment ?? {};
    const runId = randomUUID();
    const dynamo = new DynamoDBClient({
      endpoint: sweepEnv.AWS_ENDPOINT_URL_DYNAMODB,
      region: 'us-east-1',
      credentials: outsider,
      maxAttempts: 1,
    });
    await expect(
      dynamo.send(
        new PutItemCommand({
          TableName: sweepEnv.SWEEP_RUNS_TABLE_NAME,
          Item: {
            runId: { S: runId },
            status: { S: 'running' },
            dryRun: { BOOL: false },
            referenceTime: { S: '2099-01-01T00:00:00.000Z' },
            step: { N: '1' },
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: `${runtime.url}/000000000000/stale-deals-stale-sweep-continued-dlq`,
          MessageBody: eventBody('Stale Sweep Continued', { schemaVersion: 2, runId, step: 1 }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });

    // The move tasks run (the operator's redrive stays open) and find nothing to deliver.
    for (const name of ['lead-sync-lead-received-dlq', 'stale-deals-stale-sweep-continued-dlq']) {
      await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queueArn(name) }));
      const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: queueArn(name) }));
      expect(Results?.[0]).toMatchObject({ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 0 });
    }
    expect(runtime.queues.every((q) => q.depth === 0)).toBe(true);
    expect(runtime.invocations.list().filter((i) => i.trigger === 'event')).toEqual([]);
    expect(runtime.deadLetters.list()).toEqual([]);
    expect(emulator.store.stats()).toEqual(before);
    expect((await admin.requests()).length).toBe(requestsBefore);
  });
});
