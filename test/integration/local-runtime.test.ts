import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeadLetter, InvocationRecord } from '#local/runtime/records.ts';
import { LOCAL_BUS_NAME, type LocalRuntime, startLocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { fixtureCatalog } from '#test/fixtures/catalog.ts';
import { eventually } from '#test/support/eventually.ts';

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

beforeEach(() => {
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
  return events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: LOCAL_BUS_NAME,
          Source: 'test.fixture',
          DetailType: detailType,
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
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
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
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
