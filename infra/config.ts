import * as z from 'zod';
import { commandsConfigSchema } from '#functions/integration-commands/config.ts';
import { staleDealsConfigSchema } from '#functions/stale-deals/config.ts';
import { commands, defaultCommands, EVENT_SOURCE } from '#shared/events/catalog.ts';
import { fieldMappingSchema } from '#shared/leads/field-mapping.ts';
import {
  type OpportunityStatuses,
  opportunityStatusesSchema,
  RATE_LIMIT,
} from '#shared/salescaling/assumptions.ts';
import { DEFAULT_BASE_URL } from '#shared/salescaling/operations.ts';

/**
 * Per-stage settings, from `cdk.json` context `stages.<stage>`: edit cdk.json (the CLI passes
 * `-c stages='{...}'` as a string, which is not read as settings: synth then says the stage is
 * missing). Validated before anything is built, so a missing or wrong setting fails synth with its
 * path named.
 */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * An outside system allowed to put its own events on the bus (a bus-policy Allow with an
 * `events:source` condition). Never the project's source: only the project's functions speak as it.
 */
/** The detail types of the catalog's inbound commands: all an integration may ever be granted. */
export const COMMAND_DETAIL_TYPES: readonly string[] = commands.map((c) => c.detailType);
/** What an integration without `detailTypes` may send: every command but the destructive ones. */
export const DEFAULT_COMMAND_DETAIL_TYPES: readonly string[] = defaultCommands.map((c) => c.detailType);

const integrationSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, { error: 'must be 1-40 letters, digits or dashes' }),
    /** IAM roles or users (ARNs) allowed to put this integration's events. */
    principals: z
      .array(
        z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/, {
          error: 'must be an IAM role or user ARN',
        }),
      )
      .max(20)
      .default([]),
    /** Whole accounts allowed to put this integration's events (their own IAM decides who may). */
    accounts: z
      .array(z.string().regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' }))
      .max(20)
      .default([]),
    /** The event sources this integration may use. */
    sources: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/, {
            error: 'must be an event source such as crm.example',
          })
          .refine((source) => !ownsProjectSource(source), {
            error: `must not be the project's own source (${EVENT_SOURCE}) or under it: only the project's functions publish as the project`,
          })
          .refine((source) => !source.startsWith('aws.'), { error: 'aws.* sources are reserved by AWS' }),
      )
      .min(1)
      .max(20),
    /**
     * The commands this integration may send (an `events:detail-type` condition on its Allow).
     * Absent: every inbound command of the catalog but the destructive ones (Delete Opportunity),
     * which an integration gets only by naming them.
     */
    detailTypes: z
      .array(
        z.string().refine((type) => COMMAND_DETAIL_TYPES.includes(type), {
          error: `must be an inbound command of the event catalog: ${COMMAND_DETAIL_TYPES.join(', ')}`,
        }),
      )
      .min(1)
      .max(COMMAND_DETAIL_TYPES.length)
      .refine((list) => new Set(list).size === list.length, { error: 'must not repeat a detail type' })
      .optional(),
  })
  .strict()
  .refine((i) => i.principals.length + i.accounts.length > 0, {
    error: 'needs at least one principal or account',
    path: ['principals'],
  });

/** The project's source, or one posing as it (`salescaling.automation.x`, `salescaling.automation2`). */
export function ownsProjectSource(source: string): boolean {
  return source.startsWith(EVENT_SOURCE);
}

export const stageConfigSchema = z
  .object({
    /** Optional: without it the stack is environment-agnostic (account resolved at deploy). */
    account: z
      .string()
      .regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' })
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region such as eu-west-1' }),
    logRetentionDays: z.number().refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
      error: `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
    }),
    logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']),
    /** Keep data (secrets, tables, logs, dead-letter queues, bus and archive) when the stack is deleted. */
    retainData: z.boolean(),
    /** CloudFormation termination protection; defaults to on for prod, off on every other stage. */
    terminationProtection: z.boolean().optional(),
    salescaling: z
      .object({
        baseUrl: z.url({ protocol: /^https$/, error: 'must be an https URL' }).default(DEFAULT_BASE_URL),
        /** Use an existing secret holding the key, by name; otherwise the stack creates an empty one. */
        existingApiKeySecretName: z.string().min(1).optional(),
        maxRequestsPerSecond: z.number().int().positive().default(RATE_LIMIT.defaultRequestsPerSecond),
        maxConcurrency: z.number().int().positive().default(3),
        /** The account's opportunity statuses; defaults from shared/salescaling/assumptions.ts. */
        opportunityStatuses: opportunityStatusesSchema.prefault({}),
      })
      .strict(),
    api: z
      .object({
        /** Stage-wide default throttling; routes may declare their own. */
        throttle: z
          .object({ rateLimit: z.number().positive(), burstLimit: z.number().int().positive() })
          .strict(),
        /** Origins allowed by CORS (browser form posts). */
        allowedOrigins: z.array(z.url()).default([]),
      })
      .strict(),
    leads: z
      .object({
        /** Where HTML form posts land once accepted (your site's thank-you page). */
        thankYouUrl: z.url(),
        /** Which submitted field fills which lead field, per provider and form. */
        fieldMapping: fieldMappingSchema.default({}),
      })
      .strict(),
    /** Stale-deal rules; `dryRun` defaults to true on every stage but prod. */
    staleDeals: staleDealsConfigSchema.extend({ dryRun: z.boolean().optional() }).prefault({}),
    /** Per-schedule overrides of the catalog's cron, time zone or state, by schedule name. */
    schedules: z
      .record(
        z.string(),
        z
          .object({
            cron: z
              .string()
              .regex(/^\S+ \S+ \S+ \S+ \S+ \S+$/, { error: 'must have six fields' })
              .optional(),
            timeZone: z.string().min(1).optional(),
            enabled: z.boolean().optional(),
          })
          .strict(),
      )
      .default({}),
    eventArchiveRetentionDays: z.number().int().min(1).max(3650),
    /** Idempotency record lifetime; default the archive retention + 14 days (shared/idempotency/expiry.ts). */
    idempotencyExpiryDays: z.number().int().min(1).max(3650).optional(),
    /**
     * How a Salescaling outage is ridden out: failing queue records are backed off (doubling from
     * `retryBaseSeconds` to `retryCapSeconds`, jittered) for `windowMinutes` before being
     * dead-lettered; the queues' maxReceiveCount is derived from it (functions/queue-retries.ts).
     */
    outage: z
      .object({
        windowMinutes: z.number().int().min(1).max(5760).default(360),
        retryBaseSeconds: z.number().int().min(1).max(3600).default(60),
        retryCapSeconds: z.number().int().min(1).max(43_200).default(1800),
      })
      .strict()
      .refine((o) => o.retryCapSeconds >= o.retryBaseSeconds, {
        error: 'retryCapSeconds must not be below retryBaseSeconds',
        path: ['retryCapSeconds'],
      })
      .prefault({}),
    /** What inbound commands may do: `allowDelete` (Delete Opportunity applied), off by default. */
    commands: commandsConfigSchema.prefault({}),
    /** Outside systems allowed to put events on the bus, each for its own sources (never the project's). */
    integrations: z
      .array(integrationSchema)
      .max(50)
      .default([])
      .refine((list) => new Set(list.map((i) => i.name)).size === list.length, {
        error: 'integration names must be unique',
      }),
    /**
     * People and automation that operate the stack. `redriveRoleArns`: the IAM roles allowed to move
     * dead letters back to the rule-target queues (`npm run redrive`): SQS's message-move task needs
     * sqs:SendMessage on the destination queue, which every queue's policy otherwise denies to all but
     * EventBridge delivering from its own rules. Empty: no one can redrive (replay from the archive).
     */
    operators: z
      .object({
        redriveRoleArns: z
          .array(
            z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, {
              error: 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/operator',
            }),
          )
          .max(20)
          .default([]),
      })
      .strict()
      .prefault({}),
    /** Who is told when an alarm fires: email subscriptions to the alarm topic, and/or an existing topic. */
    alarms: z
      .object({
        emails: z.array(z.email()).max(20).default([]),
        /** An existing SNS topic (on-call tooling, chat) every alarm also notifies. */
        existingTopicArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:sns:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, {
            error: 'must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:on-call',
          })
          .optional(),
        /** Age (minutes) of a function queue's oldest message that raises the alarm. */
        oldestMessageMinutes: z.number().int().positive().default(30),
        /** A function's longest run, as a percentage of its timeout, that raises the alarm. */
        durationNearTimeoutPercent: z.number().int().min(50).max(100).default(80),
        /** API 5xx answers in 5 minutes that raise the alarm. */
        api5xxThreshold: z.number().int().positive().default(5),
        /** API p99 latency (ms) that raises the alarm. */
        apiLatencyP99Ms: z.number().int().positive().default(3000),
        /** Salescaling 429s in 5 minutes, three periods running, that raise the alarm. */
        salescaling429Threshold: z.number().int().positive().default(20),
      })
      .strict()
      .prefault({}),
    /**
     * Deliberate exceptions to the production checks (infra/production-readiness.ts), each a reason
     * that stays in cdk.json for the next reviewer.
     */
    waivers: z
      .object({
        placeholders: z
          .string()
          .min(10, { error: 'must give the reason (at least 10 characters)' })
          .max(500)
          .optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type StageConfig = z.output<typeof stageConfigSchema>;

/** The stage's outage setting as the retry schedule the handlers and the settings-fit check use. */
export function retryScheduleOf(config: StageConfig) {
  return {
    windowSeconds: config.outage.windowMinutes * 60,
    baseSeconds: config.outage.retryBaseSeconds,
    capSeconds: config.outage.retryCapSeconds,
  };
}
export const STAGES = ['dev', 'prod'] as const;
export type Stage = (typeof STAGES)[number];

export function loadStageConfig(stage: unknown, stages: unknown): { stage: Stage; config: StageConfig } {
  if (stage === undefined) {
    throw new Error('Missing setting "stage": run with -c stage=dev or -c stage=prod');
  }
  if (!STAGES.includes(stage as Stage)) {
    throw new Error(`Invalid setting "stage": "${String(stage)}" is not one of ${STAGES.join(', ')}`);
  }
  const raw = (stages as Record<string, unknown> | undefined)?.[stage as string];
  if (raw === undefined) {
    throw new Error(`Missing setting "stages.${String(stage)}" in cdk.json context`);
  }
  // The stale sweep's statuses became the account's (one setting for every function): say where they went.
  const staleDeals = (raw as { staleDeals?: Record<string, unknown> } | null)?.staleDeals;
  const moved: Record<string, keyof OpportunityStatuses> = { openStatus: 'open', closedStatus: 'lost' };
  for (const [old, now] of Object.entries(moved)) {
    if (staleDeals && typeof staleDeals === 'object' && old in staleDeals) {
      throw new Error(
        `Invalid configuration for stage "${String(stage)}":\n  stages.${String(stage)}.staleDeals.${old}: moved to stages.${String(stage)}.salescaling.opportunityStatuses.${now}`,
      );
    }
  }
  const result = stageConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `stages.${String(stage)}.${issue.path.join('.')}: ${issue.message}`,
    );
    throw new Error(`Invalid configuration for stage "${String(stage)}":\n  ${problems.join('\n  ')}`);
  }
  return { stage: stage as Stage, config: result.data };
}
