import * as z from 'zod';

/**
 * How a function is declared: once, here, for both runtimes. The CDK stack (`infra/`) and the
 * local runtime (`local/runtime/`) read the same declarations and neither restates them.
 *
 * - `http`: an API Gateway (HTTP API, payload 2.0) route, with optional route throttling.
 * - `event`: an EventBridge pattern on the project's bus, delivered through an SQS queue with a
 *   dead-letter queue (batches, partial batch failures, `maxReceiveCount` attempts).
 * - `schedule`: an EventBridge Scheduler schedule (cron or rate, in a time zone) invoking the
 *   function asynchronously with `input`; failed runs are retried and then dead-lettered.
 *
 * `access` pairs each resource a function may use with the environment variable that names it
 * (see `resourceBindings`): the stack grants exactly that access and sets that variable.
 */

const httpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** `/leads`, `/leads/{provider}`, `/files/{proxy+}`. */
const routePath = z
  .string()
  .regex(
    /^\/([A-Za-z0-9._-]+|\{[A-Za-z][A-Za-z0-9]*\+?\})(\/([A-Za-z0-9._-]+|\{[A-Za-z][A-Za-z0-9]*\+?\}))*$|^\/$/,
    {
      error: 'must be a path such as /leads or /leads/{provider}',
    },
  );

export const httpTriggerSchema = z
  .object({
    kind: z.literal('http'),
    method: httpMethod,
    path: routePath,
    /**
     * Routes have no API Gateway authorizer: each says how it is protected instead (webhook
     * signatures, a honeypot and throttling, nothing to protect). Recorded as the cdk-nag
     * acknowledgement of the route.
     */
    publicBecause: z.string().min(10),
    /** Per-route throttling (requests per second and burst); the stage default applies otherwise. */
    throttle: z
      .object({ rateLimit: z.number().positive(), burstLimit: z.number().int().positive() })
      .optional(),
  })
  .strict();

/** An EventBridge event pattern. Only the operators in `event-pattern.ts` are allowed. */
export type EventPattern = { [key: string]: EventPattern | readonly unknown[] };

/**
 * An upstream system's event turned into one of our events by an EventBridge rule with an input
 * transformer (no code, here or upstream): `inputPaths` names JSONPaths into the upstream event;
 * `template` is the event delivered to the queue, with `<name>` placeholders (a string that is only a
 * placeholder takes the value as it is; inside other text, its text).
 */
export const adapterSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/),
    description: z.string().min(1),
    pattern: z.record(z.string(), z.unknown()),
    inputPaths: z.record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
      z.string().regex(/^\$(\.[A-Za-z0-9_-]+)+$/),
    ),
    template: z.record(z.string(), z.unknown()),
  })
  .strict()
  .superRefine((adapter, ctx) => {
    for (const name of JSON.stringify(adapter.template).match(/<([A-Za-z][A-Za-z0-9_]*)>/g) ?? []) {
      if (!(name.slice(1, -1) in adapter.inputPaths)) {
        ctx.addIssue({
          code: 'custom',
          path: ['template'],
          message: `uses ${name}, which inputPaths does not define`,
        });
      }
    }
  });
export type Adapter = z.output<typeof adapterSchema>;

export const eventTriggerSchema = z
  .object({
    kind: z.literal('event'),
    /** Names the rule and its queue. */
    name: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/),
    pattern: z.record(z.string(), z.unknown()),
    batchSize: z.number().int().min(1).max(10_000).default(10),
    maxBatchingWindowSeconds: z.number().int().min(0).max(300).default(0),
    /**
     * Deliveries before a message moves to the dead-letter queue. Absent: derived from the stage's
     * outage window for a function that rides out outages, else 5 (see queue-retries.ts).
     */
    maxReceiveCount: z.number().int().min(1).max(1000).optional(),
    /**
     * Concurrent invocations the queue may drive (Lambda's event source maximum concurrency). They
     * draw from the shared Salescaling budget; its static split (budget ÷ the catalog's invocations,
     * the fallback and `SALESCALING_BUDGET=static`) counts each of them.
     */
    maxConcurrency: z.number().int().min(2).max(1000).default(2),
    /**
     * Worst-case Salescaling requests one record needs (first attempts), or `self-paced` for a
     * function that stops and continues in a new invocation before its timeout. Required when the
     * function has access to the Salescaling key: synth checks that a whole batch fits the timeout
     * at the function's share of the budget (see settings-fit.ts).
     */
    callsPerRecord: z.union([z.number().int().min(0).max(10_000), z.literal('self-paced')]).optional(),
    /** Upstream events mapped onto this trigger's events by input transformers (see adapterSchema). */
    adapters: z.array(adapterSchema).default([]),
  })
  .strict();

const cronExpression = z.string().regex(/^\S+ \S+ \S+ \S+ \S+ \S+$/, {
  error: 'must have six fields: minutes hours day-of-month month day-of-week year',
});
const rateExpression = z.string().regex(/^[1-9]\d* (minute|minutes|hour|hours|day|days)$/, {
  error: 'must be like "5 minutes" or "1 hour"',
});

export const scheduleTriggerSchema = z
  .object({
    kind: z.literal('schedule'),
    /** Names the schedule (`POST /_local/schedules/{name}` fires it locally). */
    name: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/),
    description: z.string().min(1),
    /** AWS cron (six fields, `?` for one of the day fields) or rate. */
    expression: z.union([
      z.object({ cron: cronExpression }).strict(),
      z.object({ rate: rateExpression }).strict(),
    ]),
    /** IANA time zone for cron schedules. */
    timeZone: z.string().min(1).default('UTC'),
    /** The event the function receives. */
    input: z.record(z.string(), z.unknown()).default({}),
    /** Attempts after a failed run before dead-lettering (Lambda asynchronous invocation: 0–2). */
    retryAttempts: z.number().int().min(0).max(2).default(2),
    /** Runs older than this are dropped to the dead-letter queue rather than retried. */
    maxEventAgeSeconds: z.number().int().min(60).max(21_600).default(3600),
    enabled: z.boolean().default(true),
  })
  .strict();

export const triggerSchema = z.discriminatedUnion('kind', [
  httpTriggerSchema,
  eventTriggerSchema,
  scheduleTriggerSchema,
]);

/** Resources a function may be given, each with the one variable that names it in its environment. */
export const resourceBindings = {
  /** Read the Salescaling API key secret. */
  salescalingApiKey: { env: 'SALESCALING_API_KEY_SECRET_ID' },
  /** Put events on the project's bus. */
  eventBus: { env: 'EVENT_BUS_NAME' },
  /** Read the webhook signing secrets (JSON: provider → secret or list of secrets). */
  webhookSigningSecrets: { env: 'WEBHOOK_SIGNING_SECRETS_ID' },
  /**
   * Read and write idempotency records (Powertools' DynamoDB layer) and the commands' newest-time
   * marks: DynamoDB in AWS and in the local runtime alike. Powertools needs exactly these actions.
   */
  idempotencyTable: {
    env: 'IDEMPOTENCY_TABLE_NAME',
    dynamoDbTable: {
      partitionKey: 'id',
      timeToLiveAttribute: 'expiration',
      actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
    },
  },
  /**
   * The Salescaling request budget, shared by every invocation of every function: one token-bucket
   * item per budget, leased with conditional updates (shared/salescaling/budget.ts). No TTL: the
   * item lives as long as the stack.
   */
  budgetTable: {
    env: 'SALESCALING_BUDGET_TABLE_NAME',
    dynamoDbTable: {
      partitionKey: 'id',
      timeToLiveAttribute: undefined,
      actions: ['GetItem', 'UpdateItem'],
    },
  },
  /** Send to the dead-letter queue of the function's (single) event trigger, for permanent failures. */
  deadLetterQueue: { env: 'DEAD_LETTER_QUEUE_URL' },
  /**
   * Read and write stale-deal run records: DynamoDB in AWS and in the local runtime alike, so the
   * table's key, expiry attribute and the actions a function granted it may take are declared here
   * for both (the stack's grant, and the local runtime's check).
   */
  sweepRunsTable: {
    env: 'SWEEP_RUNS_TABLE_NAME',
    dynamoDbTable: {
      partitionKey: 'runId',
      timeToLiveAttribute: 'expiresAt',
      actions: ['GetItem', 'PutItem', 'UpdateItem'],
    },
  },
} as const;
export type ResourceName = keyof typeof resourceBindings;

/**
 * Per-stage settings a function may ask for, each with the one variable that carries it. The
 * stack takes the values from the stage's configuration; the local runtime from its own.
 */
export const settingBindings = {
  /** JSON array of origins allowed to post browser forms. */
  allowedOrigins: { env: 'ALLOWED_ORIGINS' },
  /** Where HTML form posts are redirected (303) once accepted. */
  thankYouUrl: { env: 'THANK_YOU_URL' },
  /** JSON field mapping per provider and form (see functions/lead-ingest/mapping.ts). */
  leadFieldMapping: { env: 'LEAD_FIELD_MAPPING' },
  /** JSON stale-deal rules (see functions/stale-deals/config.ts). */
  staleDealsConfig: { env: 'STALE_DEALS_CONFIG' },
  /** JSON `{ open, won, lost }`: the account's opportunity statuses (shared/salescaling/assumptions.ts). */
  opportunityStatuses: { env: 'OPPORTUNITY_STATUSES' },
  /** JSON `{ allowDelete }`: what inbound commands may do (functions/integration-commands/config.ts). */
  commandsConfig: { env: 'COMMANDS_CONFIG' },
} as const;
export type SettingName = keyof typeof settingBindings;

export const functionDeclarationSchema = z
  .object({
    /** kebab-case; the function folder under `functions/`. */
    name: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/),
    description: z.string().min(1),
    /** The handler module, relative to the project root. */
    entry: z.string().regex(/^[\w./-]+\.ts$/),
    /** The exported handler. */
    handler: z.string().default('handler'),
    memoryMb: z.number().int().min(128).max(10_240),
    timeoutSeconds: z.number().int().min(1).max(900),
    /** Static, non-secret settings. Secrets never go here. */
    environment: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string()).default({}),
    access: z.array(z.enum(Object.keys(resourceBindings) as [ResourceName, ...ResourceName[]])).default([]),
    settings: z.array(z.enum(Object.keys(settingBindings) as [SettingName, ...SettingName[]])).default([]),
    triggers: z.array(triggerSchema).min(1),
  })
  .strict();

export type FunctionDeclarationInput = z.input<typeof functionDeclarationSchema>;
export type FunctionDeclaration = z.output<typeof functionDeclarationSchema>;
export type Trigger = FunctionDeclaration['triggers'][number];
export type HttpTrigger = Extract<Trigger, { kind: 'http' }>;
export type EventTrigger = Extract<Trigger, { kind: 'event' }>;
export type ScheduleTrigger = Extract<Trigger, { kind: 'schedule' }>;

/**
 * Validates a catalog: each declaration, and what must be unique across them (function names,
 * routes, rule and schedule names). Fails with every problem named.
 */
export function defineCatalog(input: readonly FunctionDeclarationInput[]): FunctionDeclaration[] {
  const problems: string[] = [];
  const declarations: FunctionDeclaration[] = [];
  input.forEach((raw, index) => {
    const result = functionDeclarationSchema.safeParse(raw);
    if (!result.success) {
      for (const issue of result.error.issues) {
        problems.push(`${raw.name ?? `#${index}`}: ${issue.path.join('.')}: ${issue.message}`);
      }
      return;
    }
    declarations.push(result.data);
  });
  for (const declaration of declarations) {
    const eventTriggers = declaration.triggers.filter((t) => t.kind === 'event').length;
    if (declaration.access.includes('deadLetterQueue') && eventTriggers !== 1) {
      problems.push(
        `${declaration.name}: access deadLetterQueue needs exactly one event trigger (it has ${eventTriggers})`,
      );
    }
  }
  const seen = new Map<string, string>();
  const unique = (key: string, owner: string) => {
    const other = seen.get(key);
    if (other) problems.push(`${owner}: ${key} is already declared by ${other}`);
    seen.set(key, owner);
  };
  for (const declaration of declarations) {
    unique(`function ${declaration.name}`, declaration.name);
    for (const trigger of declaration.triggers) {
      if (trigger.kind === 'http') unique(`route ${trigger.method} ${trigger.path}`, declaration.name);
      else unique(`${trigger.kind} ${trigger.name}`, declaration.name);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid function catalog:\n  ${problems.join('\n  ')}`);
  return declarations;
}

export function routeKey(trigger: HttpTrigger): string {
  return `${trigger.method} ${trigger.path}`;
}

/** `cron(0 6 ? * MON-FRI *)` or `rate(1 hour)`, as EventBridge Scheduler writes them. */
export function scheduleExpression(trigger: ScheduleTrigger): string {
  return 'cron' in trigger.expression
    ? `cron(${trigger.expression.cron})`
    : `rate(${trigger.expression.rate})`;
}
