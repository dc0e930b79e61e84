import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import type { FunctionDeclaration, ResourceName, SettingName } from '#functions/declaration.ts';
import { routeKey } from '#functions/declaration.ts';
import {
  functionEnvironment,
  type PlatformSettings,
  salescalingConcurrency,
} from '#functions/environment.ts';
import { maxReceiveCountOf } from '#functions/queue-retries.ts';
import { allEvents, EVENT_SOURCE, type EventDefinition } from '#shared/events/catalog.ts';
import { publishedDetailTypes } from '#shared/events/publishers.ts';
import { daysToSeconds, defaultIdempotencyExpiryDays } from '#shared/idempotency/expiry.ts';
import type { RetrySchedule } from '#shared/queues/retry.ts';
import { opportunityStatusesSchema } from '#shared/salescaling/assumptions.ts';
import { describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';
import { type Caller, principalArn, SandboxIdentities, signedRequest } from './aws-auth.ts';
import { CONSOLE_PATH, ConsoleApi } from './console/api.ts';
import { ConsoleHooks } from './console/hooks.ts';
import { opportunityReader } from './console/opportunity-reader.ts';
import { ActivityRecorder } from './console/recorder.ts';
import { type SalescalingFeed, startSalescalingFeed } from './console/salescaling-feed.ts';
import { startLocalDynamoDb } from './dynamodb.ts';
import {
  entrySize,
  LocalEventBus,
  MAX_DETAIL_DEPTH,
  MAX_ENTRY_BYTES,
  nestingDepth,
  putEventsRequestSchema,
  replayRequestSchema,
} from './event-bus.ts';
import { assertSupportedPattern, type Pattern } from './event-pattern.ts';
import { FunctionHost, type InvocationResult } from './function-host.ts';
import {
  isCrossSite,
  isFromThisMachine,
  isLoopbackHost,
  parseRequestUrl,
  readBounded,
  WILDCARDS,
} from './guards.ts';
import { compileRoute, fromLambdaResult, matchRoute, type Route, toApiGatewayEvent } from './http-gateway.ts';
import { transformInput } from './input-transformer.ts';
import { LocalQueue } from './queue.ts';
import { type DeadLetter, DeadLetters, type InvocationRecord, RingLog } from './records.ts';
import { isCallersMistake, LocalSchedule } from './scheduler.ts';

/**
 * The local runtime: every declared function, run by its deployed handler in its own sandbox, behind
 * local stand-ins for API Gateway, EventBridge (bus, rules, SQS queues with dead letters),
 * EventBridge Scheduler and Secrets Manager. It differs from AWS only in what it plugs in: the AWS
 * SDK in each function is pointed at this server (`AWS_ENDPOINT_URL`), and secrets come from values
 * given here instead of Secrets Manager.
 */
export interface LocalRuntimeOptions {
  declarations: readonly FunctionDeclaration[];
  /** Default 3000; 0 picks a free port. */
  port?: number | undefined;
  host?: string | undefined;
  projectRoot?: string | undefined;
  platform: Omit<PlatformSettings, 'stage' | 'salescalingInvocations'> & { stage?: string };
  /** Secret values: the Salescaling API key, and the webhook signing secrets by provider. */
  secrets: {
    salescalingApiKey: string;
    webhookSigningSecrets?: Record<string, readonly string[]> | undefined;
  };
  /** Stage settings; defaults fit the runtime's own origin (its demo thank-you page, its origin allowed). */
  settings?: Partial<Record<SettingName, string>> | undefined;
  /** `on`: schedules run on their own timers; `manual`: only `POST /_local/schedules/{name}`. */
  schedules?: 'on' | 'manual' | undefined;
  /** Delay before a failed queue message is delivered again (AWS: the visibility timeout). */
  queueRetryDelayMs?: number | undefined;
  /** Delay between attempts of a failed scheduled run (AWS: about a minute, then two). */
  scheduleRetryDelayMs?: number | undefined;
  /** The runtime's own lines (one per invocation); default console.info. */
  log?: ((line: string) => void) | undefined;
  /** The functions' own output; default: this process's stdout/stderr. */
  functionOutput?: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
  /**
   * Variables set in every function's environment after the declared ones (a benchmark runs the
   * same system with `SALESCALING_BUDGET=static` and `=shared` side by side).
   */
  functionEnvironment?: Readonly<Record<string, string>> | undefined;
  /** The event catalog whose outbound entries (`by`) say what each function may publish; default: the product's. */
  events?: readonly EventDefinition[] | undefined;
  /**
   * The Salescaling emulator's root (`http://127.0.0.1:4010`), when there is one: the console reads
   * its request log (the Salescaling calls) and sets its faults.
   */
  emulatorUrl?: string | undefined;
}

export interface LocalRuntime {
  url: string;
  port: number;
  bus: LocalEventBus;
  deadLetters: DeadLetters;
  invocations: RingLog<InvocationRecord>;
  routes: readonly Route[];
  queues: readonly LocalQueue[];
  schedules: readonly LocalSchedule[];
  hosts: ReadonlyMap<string, FunctionHost>;
  /** The console's activity records (docs/console.md). */
  activity: ActivityRecorder;
  /** The console page, and the per-start token its actions must send (`x-console-token`). */
  console: { url: string; token: string };
  /** Puts a new value in a local secret, as `aws secretsmanager put-secret-value` does. */
  putSecret(secretId: string, value: string): void;
  close(): Promise<void>;
}

export const LOCAL_REGION = 'us-east-1';
/**
 * The local outage schedule: a 2-minute window, 1 s doubling to 10 s. Time is not scaled locally
 * (the handlers see real timestamps); a short window is what plays a long outage out in seconds.
 */
export const LOCAL_RETRY_SCHEDULE: RetrySchedule = { windowSeconds: 120, baseSeconds: 1, capSeconds: 10 };
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_BUS_NAME = 'salescaling-automation-local';
export const LOCAL_SALESCALING_SECRET_ID = 'salescaling-automation/local/salescaling-api-key';
export const LOCAL_SIGNING_SECRETS_ID = 'salescaling-automation/local/webhook-signing-secrets';
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const projectRootDefault = fileURLToPath(new URL('../..', import.meta.url));

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const log = options.log ?? ((line: string) => console.info(line));
  const region = LOCAL_REGION;
  const accountId = LOCAL_ACCOUNT;
  const activity = new ActivityRecorder();
  const consoleHooks = new ConsoleHooks(activity);
  /** Who is putting events now (PutEvents is synchronous): a function's name, or undefined from outside. */
  let currentPutter: string | undefined;
  const bus = new LocalEventBus({
    name: LOCAL_BUS_NAME,
    region,
    accountId,
    onPut: (event, rules) => consoleHooks.busPut(event, rules, currentPutter),
  });
  /** The dead-letter list, each letter also told to the console (with its queue's name). */
  class ObservedDeadLetters extends DeadLetters {
    override add(entry: Omit<DeadLetter, 'id' | 'failedAt'>): DeadLetter {
      const letter = super.add(entry);
      const queue = [...deadLetterQueues.values()].find(
        (q) => q.source === letter.source && q.functionName === letter.functionName,
      );
      consoleHooks.deadLetter(letter, queue?.name);
      return letter;
    }
  }
  const deadLetters = new ObservedDeadLetters();
  const invocations = new RingLog<InvocationRecord>(2000);
  const secrets = new Map<string, string>([
    [LOCAL_SALESCALING_SECRET_ID, options.secrets.salescalingApiKey],
    [LOCAL_SIGNING_SECRETS_ID, JSON.stringify(options.secrets.webhookSigningSecrets ?? {})],
  ]);
  // Tables are named by the local DynamoDB once it runs (see dynamodb.ts).
  const resources: Omit<
    Record<ResourceName, string>,
    'deadLetterQueue' | 'sweepRunsTable' | 'idempotencyTable' | 'budgetTable'
  > = {
    salescalingApiKey: LOCAL_SALESCALING_SECRET_ID,
    eventBus: LOCAL_BUS_NAME,
    webhookSigningSecrets: LOCAL_SIGNING_SECRETS_ID,
  };
  /** Local dead-letter queues by URL: where their letters come from, and the queue a redrive returns them to. */
  const deadLetterQueues = new Map<
    string,
    { name: string; arn: string; source: string; functionName: string; queue?: LocalQueue }
  >();
  type MoveTask = {
    TaskHandle: string;
    SourceArn: string;
    Status: string;
    ApproximateNumberOfMessagesMoved: number;
    ApproximateNumberOfMessagesToMove: number;
    StartedTimestamp: number;
  };
  const moveTasks = new Map<string, MoveTask[]>();
  /** The functions' own (rule-target) queues by URL, for ChangeMessageVisibility from their consumer. */
  const sourceQueues = new Map<string, { queue: LocalQueue; functionName: string }>();
  /** Moves a dead-letter queue's letters back to its source queue, as SQS's message-move task does. */
  const redrive = (dlq: { source: string; functionName: string; queue?: LocalQueue | undefined }): number => {
    const letters = deadLetters.take((l) => l.source === dlq.source && l.functionName === dlq.functionName);
    for (const letter of letters) {
      dlq.queue?.send(typeof letter.payload === 'string' ? letter.payload : JSON.stringify(letter.payload));
    }
    return letters.length;
  };

  // Refuse patterns the local bus cannot honour before anything starts.
  for (const declaration of options.declarations) {
    for (const trigger of declaration.triggers) {
      if (trigger.kind === 'event') {
        assertSupportedPattern(trigger.pattern);
        for (const adapter of trigger.adapters) assertSupportedPattern(adapter.pattern);
      }
    }
  }

  const hosts = new Map<string, FunctionHost>();
  const routes: Route[] = [];
  const throttles = new Map<Route, TokenBucket>();
  const queues: LocalQueue[] = [];
  const schedules: LocalSchedule[] = [];

  // The console (docs/console.md): its records come from the hooks above; it reads Salescaling calls
  // from the emulator's request log, and opportunities through the configured Salescaling API.
  const feed: SalescalingFeed | undefined = options.emulatorUrl
    ? startSalescalingFeed(options.emulatorUrl, activity)
    : undefined;
  const salescalingUsers = new Set(
    options.declarations.filter((d) => d.access.includes('salescalingApiKey')).map((d) => d.name),
  );
  const consoleApi = new ConsoleApi({
    recorder: activity,
    feed,
    readOpportunity: options.platform.salescalingBaseUrl
      ? opportunityReader(options.platform.salescalingBaseUrl, options.secrets.salescalingApiKey)
      : undefined,
    emulatorUrl: options.emulatorUrl,
    runtimeUrl: () => url,
    signingSecrets: options.secrets.webhookSigningSecrets ?? {},
    system: () => ({
      routes: routes.map((r) => ({ route: routeKey(r.trigger), function: r.functionName })),
      schedules: schedules.map((s) => ({
        schedule: s.trigger.name,
        function: s.host.declaration.name,
        expression: s.expression,
      })),
      rules: bus.rules.map((r) => ({
        rule: r.name,
        queue: r.queue.name,
        function: [...sourceQueues.values()].find((q) => q.queue === r.queue)?.functionName ?? '',
      })),
      functions: options.declarations.map((d) => ({
        name: d.name,
        salescaling: salescalingUsers.has(d.name),
        publishes: publishedDetailTypes(d.name, options.events ?? allEvents),
      })),
      deadLetterQueues: [...deadLetterQueues.values()].map((q) => ({
        name: q.name,
        function: q.functionName,
        source: q.source,
        depth: deadLetters.list().filter((l) => l.source === q.source && l.functionName === q.functionName)
          .length,
      })),
    }),
    // A command from the console comes from outside the functions, with its own source.
    putCommand: (detailType, detail) =>
      bus.put({
        Entries: [
          { Source: 'local.console', DetailType: detailType, Detail: detail, EventBusName: LOCAL_BUS_NAME },
        ],
      }).Entries[0] ?? { ErrorCode: 'NotStored' },
    fireSchedule: async (name, override) => {
      const schedule = schedules.find((s) => s.trigger.name === name);
      if (!schedule) return undefined;
      return onDemandAnswer(name, await schedule.fire(override, { onDemand: true }));
    },
    redrive: (dlqName) => {
      const dlq = [...deadLetterQueues.values()].find((q) => q.name === dlqName);
      return dlq ? redrive(dlq) : undefined;
    },
  });

  const record = (entry: Omit<InvocationRecord, 'id' | 'startedAt' | 'durationMs'>, startedAt: number) => {
    const item = invocations.push({
      id: randomUUID(),
      startedAt: new Date(startedAt).toISOString(),
      durationMs: Date.now() - startedAt,
      ...entry,
    });
    consoleHooks.invocation(item);
    const time = item.startedAt.slice(11, 23);
    log(
      `${time} ${item.functionName} ← ${item.trigger} ${item.source}: ${item.detail} (${item.durationMs} ms)`,
    );
  };

  const identities = new SandboxIdentities();
  const bindHost = options.host ?? '127.0.0.1';
  let serverPort = () => options.port ?? 3000;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`local runtime error: ${(error as Error).stack ?? error}`);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseRequestUrl(req.url);
    if (!url) {
      sendJson(res, 400, { message: 'Bad Request: malformed path' });
      return;
    }
    const body = await readBounded(req, MAX_BODY_BYTES);
    if (body === undefined) {
      sendJson(res, 413, { message: 'Request Entity Too Large' });
      return;
    }
    const target = req.headers['x-amz-target'];
    const isAws = req.method === 'POST' && url.pathname === '/' && typeof target === 'string';
    const isLocal = url.pathname === '/_local' || url.pathname.startsWith('/_local/');
    // The runtime's own surfaces fail closed to anything not addressed to loopback (DNS rebinding),
    // and `/_local/` to a browser's cross-site request.
    if (
      (isAws || isLocal) &&
      (!isLoopbackHost(req.headers.host, serverPort(), bindHost) || !isFromThisMachine(req.socket))
    ) {
      sendJson(res, 403, {
        message: 'Forbidden: the local runtime answers only requests from this machine addressed to loopback',
      });
      return;
    }
    if (isLocal && isCrossSite(req.headers, serverPort(), bindHost)) {
      sendJson(res, 403, { message: 'Forbidden: cross-site request' });
      return;
    }
    // No request to the runtime's own surfaces nests deeper than an event's Detail may: deeper JSON
    // would overflow the stack wherever it is copied or turned to text (String(), a worker message).
    if ((isAws || isLocal) && nestingDepth(body.toString('utf8')) > MAX_DETAIL_DEPTH) {
      const message = `The body nests deeper than ${MAX_DETAIL_DEPTH} levels`;
      if (isAws) sendJson(res, 400, { __type: 'SerializationException', message });
      else sendJson(res, 400, { message });
      return;
    }
    if (isAws) {
      await awsApi(target, req, url, body, res);
      return;
    }
    if (url.pathname === CONSOLE_PATH || url.pathname.startsWith(`${CONSOLE_PATH}/`)) {
      await consoleApi.handle(req.method ?? 'GET', url, req.headers, body, res);
      return;
    }
    if (isLocal) {
      await localApi(req.method ?? 'GET', url, body, res);
      return;
    }
    const demoPage = req.method === 'GET' ? DEMO_PAGES[url.pathname] : undefined;
    if (demoPage) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(await readFile(new URL(`./demo/${demoPage}`, import.meta.url)));
      return;
    }
    // CORS as the HTTP API does it for the stage's allowed origins: preflights, and response headers.
    const origin = req.headers.origin;
    const corsHeaders: Record<string, string> =
      origin && allowedOrigins.includes(origin)
        ? { 'access-control-allow-origin': origin, vary: 'origin' }
        : {};
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.writeHead(204, {
        ...corsHeaders,
        ...(corsHeaders['access-control-allow-origin']
          ? {
              'access-control-allow-methods': 'GET,POST',
              'access-control-allow-headers': 'content-type',
              'access-control-max-age': '3600',
            }
          : {}),
      });
      res.end();
      return;
    }
    const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
    if (match === 'malformed') {
      sendJson(res, 400, { message: 'Bad Request: malformed path parameter' });
      return;
    }
    if (!match || !('route' in match)) {
      sendJson(res, 404, { message: 'Not Found' });
      return;
    }
    const bucket = throttles.get(match.route);
    if (bucket && !bucket.take()) {
      // Answered by the gateway, never the function: the console still shows the sender's answer.
      consoleHooks.httpStarted(
        match.route.functionName,
        req.method ?? 'GET',
        url.pathname,
        routeKey(match.route.trigger),
        body,
      )({ status: 429, body: JSON.stringify({ message: 'Too Many Requests' }), coldStart: false });
      sendJson(res, 429, { message: 'Too Many Requests' });
      return;
    }
    const host = hosts.get(match.route.functionName);
    if (!host) throw new Error(`No function ${match.route.functionName}`);
    const event = toApiGatewayEvent({
      req,
      url,
      body,
      route: match.route,
      pathParameters: match.pathParameters,
      accountId,
    });
    const startedAt = Date.now();
    const answered = consoleHooks.httpStarted(
      host.declaration.name,
      req.method ?? 'GET',
      url.pathname,
      routeKey(match.route.trigger),
      body,
    );
    let coldStart = false;
    const result = await host.invoke(event, {
      onColdStart: () => {
        coldStart = true;
      },
    });
    const source = `${req.method} ${url.pathname}`;
    if (!result.ok) {
      answered({ status: 500, body: JSON.stringify({ message: 'Internal Server Error' }), coldStart });
      record(
        {
          functionName: host.declaration.name,
          trigger: 'http',
          source,
          coldStart,
          outcome: 'error',
          detail: `500 ${result.error.name}: ${result.error.message}`,
        },
        startedAt,
      );
      sendJson(res, 500, { message: 'Internal Server Error' });
      return;
    }
    const response = fromLambdaResult(result.result);
    answered({
      status: response.statusCode,
      body: response.body.toString('utf8'),
      coldStart,
      location: response.headers.location,
    });
    record(
      {
        functionName: host.declaration.name,
        trigger: 'http',
        source,
        coldStart,
        outcome: 'ok',
        detail: String(response.statusCode),
      },
      startedAt,
    );
    const headers: Record<string, string | string[]> = {
      ...response.headers,
      'apigw-requestid': event.requestContext.requestId,
    };
    if (response.cookies.length > 0) headers['set-cookie'] = response.cookies;
    res.writeHead(response.statusCode, headers);
    res.end(response.body);
  }

  /** The AWS JSON 1.1 APIs the functions (and users) call: EventBridge PutEvents, Secrets Manager GetSecretValue. */
  async function awsApi(
    target: string,
    req: IncomingMessage,
    url: URL,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUUID(),
      });
      res.end(JSON.stringify(payload));
    };
    const identified = await identities.identify(signedRequest(req, url, body));
    if (!identified.ok) {
      reply(identified.status, { __type: identified.type, message: identified.message });
      return;
    }
    const caller = identified.caller;
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8') || '{}');
    } catch {
      reply(400, { __type: 'SerializationException', message: 'Request body is not valid JSON' });
      return;
    }
    if (target === 'AWSEvents.PutEvents') {
      const request = putEventsRequestSchema.safeParse(input);
      if (!request.success) {
        reply(400, {
          __type: 'ValidationException',
          message: describeFieldIssues(fieldIssues(request.error)),
        });
        return;
      }
      if (request.data.Entries.reduce((sum, entry) => sum + entrySize(entry), 0) > MAX_ENTRY_BYTES) {
        reply(400, {
          __type: 'ValidationException',
          message: 'Total size of the entries in the request is over the limit.',
        });
        return;
      }
      currentPutter = caller.kind === 'sandbox' ? caller.functionName : undefined;
      try {
        reply(
          200,
          bus.put(request.data, (entry) => authorizeEntry(caller, entry)),
        );
      } finally {
        currentPutter = undefined;
      }
      return;
    }
    if (target === 'secretsmanager.GetSecretValue') {
      const request = z.object({ SecretId: z.string().min(1).max(2048) }).safeParse(input);
      const secretId = request.success ? request.data.SecretId : '';
      // Only a sandbox whose function's access names the secret: nothing outside the functions needs
      // the local secrets (you set them when starting the runtime), and a loopback process that could
      // read the signing secrets could sign leads as any provider.
      if (caller.kind !== 'sandbox' || !secretReadableBy(caller.functionName, secretId)) {
        reply(400, {
          __type: 'AccessDeniedException',
          message: `User: ${principalArn(caller, accountId)} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${secretId.slice(0, 256)} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
        });
        return;
      }
      const value = secrets.get(secretId);
      if (value === undefined) {
        reply(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
        return;
      }
      reply(200, {
        ARN: `arn:aws:secretsmanager:${region}:${accountId}:secret:${secretId}`,
        Name: secretId,
        VersionId: '00000000-0000-0000-0000-000000000001',
        SecretString: value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 0,
      });
      return;
    }
    // SQS, on the local dead-letter queues: what a function's grant allows it (SendMessage, GetQueueUrl
    // and GetQueueAttributes on its own dead-letter queue), and what an operator's redrive calls
    // (`npm run redrive`). An outside caller may not SendMessage at all: a dead-letter queue holds only
    // what the system itself dead-lettered, so a redrive can never deliver a body someone wrote.
    const findDlq = (key: {
      url?: string | undefined;
      name?: string | undefined;
      arn?: string | undefined;
    }) =>
      [...deadLetterQueues.entries()].find(
        ([url, q]) => url === key.url || q.name === key.name || q.arn === key.arn,
      );
    const notFound = () =>
      reply(400, {
        __type: 'com.amazonaws.sqs#QueueDoesNotExist',
        message: 'The specified queue does not exist.',
      });
    /** SQS's answer to a call no policy allows: 403, AccessDenied (its query-compatible code). */
    const sqsDenied = (action: string, resource: string) => {
      res.writeHead(403, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': randomUUID(),
        'x-amzn-query-error': 'AccessDenied;Sender',
      });
      res.end(
        JSON.stringify({
          __type: 'com.amazon.coral.service#AccessDeniedException',
          message: `User: ${principalArn(caller, accountId)} is not authorized to perform: sqs:${action.toLowerCase()} on resource: ${resource.slice(0, 256)} because no identity-based policy allows the sqs:${action.toLowerCase()} action`,
        }),
      );
    };
    /** A sandbox's grant covers only its own dead-letter queue, and only if its function declares it. */
    const sandboxOwns = (q: { functionName: string } | undefined) =>
      caller.kind === 'sandbox' &&
      q?.functionName === caller.functionName &&
      accessOf(caller.functionName).includes('deadLetterQueue');
    const sqsInput = (input ?? {}) as { QueueName?: string; QueueUrl?: string; SourceArn?: string };
    const depthOf = (q: { source: string; functionName: string }) =>
      deadLetters.list().filter((l) => l.source === q.source && l.functionName === q.functionName).length;
    const sqsAction = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : undefined;
    const queueArnFor = (name: unknown) => `arn:aws:sqs:${region}:${accountId}:${String(name ?? '')}`;
    if (
      caller.kind === 'sandbox' &&
      (sqsAction === 'StartMessageMoveTask' || sqsAction === 'ListMessageMoveTasks')
    ) {
      // Function roles hold no redrive permission in AWS either.
      sqsDenied(sqsAction, String(sqsInput.SourceArn ?? ''));
      return;
    }
    if (target === 'AmazonSQS.GetQueueUrl') {
      const found = findDlq({ name: sqsInput.QueueName });
      if (caller.kind === 'sandbox' && !sandboxOwns(found?.[1])) {
        sqsDenied('GetQueueUrl', queueArnFor(sqsInput.QueueName));
        return;
      }
      if (!found) {
        notFound();
        return;
      }
      reply(200, { QueueUrl: found[0] });
      return;
    }
    if (target === 'AmazonSQS.GetQueueAttributes') {
      const found = findDlq({ url: sqsInput.QueueUrl });
      if (caller.kind === 'sandbox' && !sandboxOwns(found?.[1])) {
        sqsDenied('GetQueueAttributes', String(sqsInput.QueueUrl ?? ''));
        return;
      }
      if (!found) {
        notFound();
        return;
      }
      reply(200, {
        Attributes: { QueueArn: found[1].arn, ApproximateNumberOfMessages: String(depthOf(found[1])) },
      });
      return;
    }
    if (target === 'AmazonSQS.StartMessageMoveTask') {
      const found = findDlq({ arn: sqsInput.SourceArn });
      if (!found) {
        notFound();
        return;
      }
      const toMove = depthOf(found[1]);
      const task: MoveTask = {
        TaskHandle: randomUUID(),
        SourceArn: found[1].arn,
        Status: 'COMPLETED',
        ApproximateNumberOfMessagesMoved: redrive(found[1]),
        ApproximateNumberOfMessagesToMove: toMove,
        StartedTimestamp: Date.now(),
      };
      moveTasks.set(found[1].arn, [task, ...(moveTasks.get(found[1].arn) ?? [])]);
      reply(200, { TaskHandle: task.TaskHandle });
      return;
    }
    if (target === 'AmazonSQS.ListMessageMoveTasks') {
      reply(200, { Results: moveTasks.get(String(sqsInput.SourceArn)) ?? [] });
      return;
    }
    if (target === 'AmazonSQS.ChangeMessageVisibility') {
      const request = z
        .object({
          QueueUrl: z.string().max(2048),
          ReceiptHandle: z.string().min(1).max(1024),
          VisibilityTimeout: z.number().int().min(0).max(43_200),
        })
        .safeParse(input);
      const found = request.success ? sourceQueues.get(request.data.QueueUrl) : undefined;
      // Only the function that consumes the queue (its event source grant), as in AWS.
      if (caller.kind !== 'sandbox' || found?.functionName !== caller.functionName) {
        sqsDenied(
          'ChangeMessageVisibility',
          found?.queue.arn ?? (request.success ? request.data.QueueUrl : String(sqsInput.QueueUrl ?? '')),
        );
        return;
      }
      if (!request.success) {
        reply(400, {
          __type: 'com.amazonaws.sqs#InvalidParameterValue',
          message: `Invalid ChangeMessageVisibility request: ${describeFieldIssues(fieldIssues(request.error))}`,
        });
        return;
      }
      const refused = found.queue.changeVisibility(
        request.data.ReceiptHandle,
        request.data.VisibilityTimeout,
      );
      if (refused) {
        reply(400, {
          __type: `com.amazonaws.sqs#${refused}`,
          message:
            refused === 'MessageNotInflight'
              ? 'The message is not in flight.'
              : 'The receipt handle is not valid for this queue.',
        });
        return;
      }
      reply(200, {});
      return;
    }
    if (target === 'AmazonSQS.SendMessage') {
      const request = z
        .object({
          QueueUrl: z.string().max(2048),
          MessageBody: z.string().max(MAX_ENTRY_BYTES),
          MessageAttributes: z
            .record(z.string(), z.object({ StringValue: z.string().optional() }))
            .optional(),
        })
        .safeParse(input);
      const found = request.success ? deadLetterQueues.get(request.data.QueueUrl) : undefined;
      // Only a sandbox, and only to its own function's dead-letter queue, as its grant says (the
      // queue policy in AWS denies everyone else, see docs/bus-trust.md).
      if (!sandboxOwns(found)) {
        sqsDenied('SendMessage', found?.arn ?? (request.success ? request.data.QueueUrl : ''));
        return;
      }
      const queue = found;
      if (!request.success || !queue) {
        reply(400, {
          __type: 'com.amazonaws.sqs#QueueDoesNotExist',
          message: 'The specified queue does not exist.',
        });
        return;
      }
      let payload: unknown = request.data.MessageBody;
      try {
        payload = JSON.parse(request.data.MessageBody);
      } catch {
        // not JSON: keep the text
      }
      deadLetters.add({
        ...queue,
        reason:
          request.data.MessageAttributes?.reason?.StringValue ??
          'sent to the dead-letter queue by the function',
        attempts: 1,
        payload,
      });
      reply(200, {
        MessageId: randomUUID(),
        MD5OfMessageBody: createHash('md5').update(request.data.MessageBody).digest('hex'),
      });
      return;
    }
    reply(400, {
      __type: 'UnknownOperationException',
      message: `The local runtime does not implement ${target}`,
    });
  }

  async function localApi(method: string, url: URL, body: Buffer, res: ServerResponse): Promise<void> {
    const path = url.pathname.slice('/_local'.length);
    const fire = /^\/schedules\/([^/]+)$/.exec(path);
    if (method === 'POST' && fire) {
      const name = safeDecode(fire[1] ?? '');
      if (name === undefined) {
        sendJson(res, 400, { message: 'Bad Request: malformed schedule name' });
        return;
      }
      const schedule = schedules.find((s) => s.trigger.name === name);
      // An optional JSON body is merged into the schedule's input, as an operator's on-demand run
      // would pass it (`aws lambda invoke --payload`), e.g. {"dryRun": false}.
      let override: Record<string, unknown> = {};
      try {
        const parsed: unknown = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
          override = parsed as Record<string, unknown>;
        else throw new Error('not an object');
      } catch {
        sendJson(res, 400, { message: 'The body, when given, must be a JSON object merged into the input' });
        return;
      }
      if (!schedule) {
        sendJson(res, 404, { message: `No schedule named ${name.slice(0, 200)}` });
        return;
      }
      const answer = onDemandAnswer(schedule.trigger.name, await schedule.fire(override, { onDemand: true }));
      sendJson(res, answer.status, answer.body);
      return;
    }
    switch (`${method} ${path}`) {
      case 'GET /health':
        return sendJson(res, 200, { ok: true });
      case 'GET /functions':
        return sendJson(res, 200, describe());
      case 'GET /events': {
        const detailType = url.searchParams.get('detail-type');
        const source = url.searchParams.get('source');
        return sendJsonArray(
          res,
          bus.events
            .list()
            .filter(
              (e) => (!detailType || e['detail-type'] === detailType) && (!source || e.source === source),
            ),
        );
      }
      case 'POST /replay': {
        // A replay from the bus's archive, as EventBridge's StartReplay (docs/replays.md).
        let input: unknown;
        try {
          input = JSON.parse(body.toString('utf8'));
        } catch {
          return sendJson(res, 400, { message: 'The body must be JSON: {"from": ISO 8601, "to": ISO 8601}' });
        }
        const request = replayRequestSchema.safeParse(input);
        if (!request.success) {
          return sendJson(res, 400, {
            message: 'Invalid replay',
            errors: request.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
          });
        }
        return sendJson(res, 200, bus.replay(request.data));
      }
      case 'GET /dead-letters':
        return sendJsonArray(res, deadLetters.list());
      case 'DELETE /dead-letters':
        deadLetters.clear();
        return sendJson(res, 200, []);
      case 'GET /invocations': {
        const fn = url.searchParams.get('function');
        return sendJsonArray(
          res,
          invocations.list().filter((i) => !fn || i.functionName === fn),
        );
      }
      default:
        return sendJson(res, 404, { message: `No local route ${method} ${url.pathname.slice(0, 200)}` });
    }
  }

  function describe() {
    return {
      routes: routes.map((r) => ({ route: routeKey(r.trigger), function: r.functionName })),
      rules: bus.rules.map((r) => ({ rule: r.name, pattern: r.pattern, queue: r.queue.name })),
      schedules: schedules.map((s) => ({
        schedule: s.trigger.name,
        function: s.host.declaration.name,
        expression: s.expression,
        timeZone: s.trigger.timeZone,
        enabled: s.trigger.enabled,
        nextRun: options.schedules === 'manual' ? null : (s.nextRun()?.toISOString() ?? null),
      })),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The bus's trust boundary, as in AWS (see the stack's bus policy): only a function's own sandbox
  // may put the project's source, and only the detail types the event catalog says it publishes.
  const events = options.events ?? allEvents;
  function authorizeEntry(
    caller: Caller,
    entry: { Source?: string | undefined; DetailType?: string | undefined },
  ) {
    if (!(entry.Source ?? '').startsWith(EVENT_SOURCE)) return undefined;
    if (caller.kind !== 'sandbox') {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    }
    if (entry.Source !== EVENT_SOURCE) {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    }
    if (!publishedDetailTypes(caller.functionName, events).includes(entry.DetailType ?? '')) {
      return {
        ErrorCode: 'NotAuthorizedForDetailTypeException',
        ErrorMessage: 'Not authorized for the detail type.',
      };
    }
    return undefined;
  }
  function accessOf(functionName: string): readonly ResourceName[] {
    return options.declarations.find((d) => d.name === functionName)?.access ?? [];
  }
  /** The secrets a function's declared access grants it (as its IAM grants do in AWS). */
  function secretReadableBy(functionName: string, secretId: string): boolean {
    const access = accessOf(functionName);
    return (
      (secretId === LOCAL_SALESCALING_SECRET_ID && access.includes('salescalingApiKey')) ||
      (secretId === LOCAL_SIGNING_SECRETS_ID && access.includes('webhookSigningSecrets'))
    );
  }

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `Port ${options.port ?? 3000} on ${host} is already in use: stop what holds it, or set PORT to another port (PORT=3001 npm start)`,
            )
          : error,
      );
    });
    server.listen(options.port ?? 3000, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  serverPort = () => port;
  // Bound to every interface, it is still reached here at loopback: its functions' AWS calls and the
  // user's browser, whose `Host` the runtime's own endpoints accept (never 0.0.0.0).
  const url = `http://${WILDCARDS.has(host) ? '127.0.0.1' : host}:${port}`;
  const dynamoDb = await startLocalDynamoDb({
    declarations: options.declarations,
    region,
    prefix: LOCAL_BUS_NAME,
    // The same identities as the other AWS endpoints: a sandbox signs DynamoDB calls with its own key.
    identities,
    accountId,
  }).catch(async (error: unknown) => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  });

  // The functions, now that the origin their AWS SDK must talk to is known.
  const platform: PlatformSettings = {
    stage: 'local',
    salescalingInvocations: salescalingConcurrency(options.declarations),
    // The local archive is a bounded ring rather than days: records live as prod's would.
    idempotencyExpirySeconds: daysToSeconds(defaultIdempotencyExpiryDays(90)),
    retrySchedule: LOCAL_RETRY_SCHEDULE,
    ...options.platform,
  };
  const retrySchedule = platform.retrySchedule ?? LOCAL_RETRY_SCHEDULE;
  const localhostOrigin = `http://localhost:${port}`;
  const settings: Record<SettingName, string> = {
    allowedOrigins: JSON.stringify([url, localhostOrigin]),
    thankYouUrl: `${url}/demo/thanks`,
    leadFieldMapping: '{}',
    // Locally, as on every stage but prod, the stale-deal sweep only reports.
    staleDealsConfig: JSON.stringify({ dryRun: true }),
    opportunityStatuses: JSON.stringify(opportunityStatusesSchema.parse({})),
    // Locally, as on every stage by default, Delete Opportunity is refused.
    commandsConfig: JSON.stringify({ allowDelete: false }),
    ...options.settings,
  };
  const allowedOrigins = JSON.parse(settings.allowedOrigins) as string[];
  const isolatedAwsConfig = join(tmpdir(), 'salescaling-local-no-aws-config');
  for (const declaration of options.declarations) {
    const eventTrigger = declaration.triggers.find((t) => t.kind === 'event');
    const dlqUrl = eventTrigger
      ? `${url}/${accountId}/${declaration.name}-${eventTrigger.name}-dlq`
      : undefined;
    const sourceQueueUrl = eventTrigger ? `${url}/${accountId}/${declaration.name}-${eventTrigger.name}` : '';
    if (dlqUrl && eventTrigger) {
      const name = `${declaration.name}-${eventTrigger.name}-dlq`;
      deadLetterQueues.set(dlqUrl, {
        name,
        arn: `arn:aws:sqs:${region}:${accountId}:${name}`,
        source: `queue:${eventTrigger.name}`,
        functionName: declaration.name,
      });
    }
    const environment: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      TZ: 'UTC',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      // This sandbox's own credentials: how the runtime's AWS endpoints tell it from an outside caller.
      ...sandboxCredentials(identities.issue(declaration.name)),
      AWS_ENDPOINT_URL: url,
      // Keep the developer's own AWS profiles out of the functions.
      AWS_CONFIG_FILE: isolatedAwsConfig,
      AWS_SHARED_CREDENTIALS_FILE: isolatedAwsConfig,
      AWS_LAMBDA_FUNCTION_NAME: declaration.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(declaration.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${declaration.name}`,
      // No X-Ray daemon here: tracing is the one thing switched off.
      POWERTOOLS_TRACE_ENABLED: 'false',
      ...dynamoDb.environmentFor(declaration),
      ...functionEnvironment(
        declaration,
        platform,
        { ...resources, ...dynamoDb.tableNames, deadLetterQueue: dlqUrl ?? '' },
        settings,
        sourceQueueUrl,
      ),
      ...options.functionEnvironment,
    };
    const fnHost = new FunctionHost(declaration, {
      projectRoot: options.projectRoot ?? projectRootDefault,
      environment,
      region,
      accountId,
      output: options.functionOutput,
    });
    hosts.set(declaration.name, fnHost);
    for (const trigger of declaration.triggers) {
      if (trigger.kind === 'http') {
        const route = compileRoute(trigger, declaration.name);
        routes.push(route);
        if (trigger.throttle)
          throttles.set(route, new TokenBucket(trigger.throttle.rateLimit, trigger.throttle.burstLimit));
      } else if (trigger.kind === 'event') {
        const queueName = `${declaration.name}-${trigger.name}`;
        const queue = new LocalQueue({
          trigger,
          host: fnHost,
          deadLetters,
          retryDelayMs: options.queueRetryDelayMs ?? 1000,
          maxReceiveCount: maxReceiveCountOf(declaration, trigger, retrySchedule),
          // Every sandbox sees the same idempotency records and budget (DynamoDB), as in AWS.
          maxConcurrency: trigger.maxConcurrency,
          region,
          accountId,
          onDelivered: (deliveries, outcome, startedAt) =>
            consoleHooks.delivered(queueName, declaration.name, deliveries, outcome, startedAt),
          onBatch: (outcome, startedAt) =>
            record(
              {
                functionName: declaration.name,
                trigger: 'event',
                source: trigger.name,
                outcome: outcome.error ? 'error' : outcome.failed > 0 ? 'partial' : 'ok',
                coldStart: outcome.coldStart,
                detail: outcome.error
                  ? `${outcome.records} record(s), failed: ${outcome.error}`
                  : `${outcome.records} record(s), ${outcome.failed} failed`,
              },
              startedAt,
            ),
        });
        queues.push(queue);
        sourceQueues.set(`${url}/${accountId}/${queue.name}`, { queue, functionName: declaration.name });
        for (const dlq of deadLetterQueues.values()) {
          if (dlq.functionName === declaration.name && dlq.source === `queue:${trigger.name}`)
            dlq.queue = queue;
        }
        bus.addRule({ name: trigger.name, pattern: trigger.pattern as Pattern, queue });
        for (const adapter of trigger.adapters) {
          bus.addRule({
            name: adapter.name,
            pattern: adapter.pattern as Pattern,
            queue,
            transform: (event) => transformInput(adapter, event),
          });
        }
      } else {
        const schedule = new LocalSchedule({
          trigger,
          host: fnHost,
          deadLetters,
          retryDelayMs: options.scheduleRetryDelayMs ?? 1000,
          onRun: (attempt: number, result: InvocationResult, startedAt: number) =>
            record(
              {
                functionName: declaration.name,
                trigger: 'schedule',
                source: trigger.name,
                outcome: result.ok ? 'ok' : 'error',
                detail: `attempt ${attempt}: ${result.ok ? 'ok' : `${result.error.name}: ${result.error.message}`}`,
              },
              startedAt,
            ),
        });
        schedules.push(schedule);
        if (options.schedules !== 'manual') schedule.start();
      }
    }
  }
  // Most specific routes first (static segments before parameters), as API Gateway matches them.
  routes.sort((a, b) => a.params.length - b.params.length || b.trigger.path.length - a.trigger.path.length);

  return {
    url,
    port,
    bus,
    deadLetters,
    invocations,
    routes,
    queues,
    schedules,
    hosts,
    activity,
    console: { url: `${url}${CONSOLE_PATH}/`, token: consoleApi.token },
    putSecret: (secretId, value) => {
      if (!secrets.has(secretId)) throw new Error(`No local secret ${secretId}`);
      secrets.set(secretId, value);
    },
    close: async () => {
      feed?.close();
      consoleApi.close();
      for (const schedule of schedules) schedule.stop();
      for (const queue of queues) queue.close();
      await Promise.all([...hosts.values()].map((h) => h.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamoDb.close();
    },
  };
}

const DEMO_PAGES: Record<string, string> = { '/demo/form': 'form.html', '/demo/thanks': 'thanks.html' };

/** API Gateway's route throttling: `rateLimit` tokens a second, up to `burstLimit` at once. */
class TokenBucket {
  #tokens: number;
  #updatedAt = Date.now();
  readonly #rate: number;
  readonly #burst: number;
  constructor(rate: number, burst: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#rate);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

function sandboxCredentials(credentials: { accessKeyId: string; secretAccessKey: string }) {
  return { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey };
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** A JSON array written item by item, so no number of stored records can outgrow one string. */
function sendJsonArray(res: ServerResponse, items: readonly unknown[]): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('[');
  items.forEach((item, i) => {
    res.write(i === 0 ? JSON.stringify(item) : `,${JSON.stringify(item)}`);
  });
  res.end(']');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * An on-demand schedule run's answer, for `POST /_local/schedules/{name}` and the console alike: the
 * result, or the function's error by name and message (its stack stays in the function's own log);
 * an input the function refused is the caller's mistake (400), any other failure the function's (502).
 */
function onDemandAnswer(schedule: string, result: InvocationResult): { status: number; body: unknown } {
  if (result.ok) return { status: 200, body: { schedule, ...result } };
  return {
    status: isCallersMistake(result) ? 400 : 502,
    body: {
      schedule,
      ok: false,
      error: { name: result.error.name, message: result.error.message.slice(0, 2_000) },
    },
  };
}
