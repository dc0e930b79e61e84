import { DEFAULT_RETRY_SCHEDULE, type RetrySchedule } from '#shared/queues/retry.ts';
import {
  type FunctionDeclaration,
  type ResourceName,
  resourceBindings,
  type SettingName,
  settingBindings,
} from './declaration.ts';
import { maxReceiveCountOf, ridesOutOutages } from './queue-retries.ts';

/**
 * Every function's environment, built the same way for AWS (values may be CDK tokens) and for the
 * local runtime, so the variable names cannot drift. Layers: platform settings, then the
 * declaration's own settings, then one variable per resource in `access` and per stage setting in
 * `settings`. A key set by two layers
 * is an error, never a silent overwrite.
 */
export interface PlatformSettings {
  stage: string;
  /** How many invocations may call Salescaling at once, across the catalog (see salescalingConcurrency). */
  salescalingInvocations: number;
  logLevel: string;
  salescalingBaseUrl: string;
  salescalingMaxRps: number;
  salescalingMaxConcurrency: number;
  /**
   * `shared` (default): every call draws from one token bucket in the budget table, so one busy
   * function may use the whole budget; `static`: each invocation keeps budget ÷ invocations (the
   * split before the shared bucket, and its fallback).
   */
  salescalingBudget?: SalescalingBudgetMode | undefined;
  /** Per-attempt timeout of Salescaling requests; unset: the client's default (10 s). */
  salescalingTimeoutMs?: number | undefined;
  /** How long a function caches the Salescaling key; unset: five minutes. Tests shorten it. */
  salescalingKeyCacheMs?: number | undefined;
  /**
   * How long idempotency records live (seconds): at least the bus archive's retention, so a replay
   * applies nothing twice (shared/idempotency/expiry.ts). Required by every function with access to
   * the idempotency table.
   */
  idempotencyExpirySeconds?: number | undefined;
  /** How failing queue records ride out a Salescaling outage (the stage's `outage`); default 6 hours. */
  retrySchedule?: RetrySchedule | undefined;
}

export const SERVICE_NAME = 'salescaling-automation';

export const SALESCALING_BUDGET_MODES = ['shared', 'static'] as const;
export type SalescalingBudgetMode = (typeof SALESCALING_BUDGET_MODES)[number];

export function functionEnvironment(
  declaration: FunctionDeclaration,
  platform: PlatformSettings,
  resources: Record<ResourceName, string>,
  settings: Record<SettingName, string>,
  /** The URL of the function's event-trigger queue (its records' visibility is changed there). */
  sourceQueueUrl = '',
): Record<string, string> {
  const environment: Record<string, string> = {};
  const put = (key: string, value: string, layer: string) => {
    if (key in environment && environment[key] !== value) {
      throw new Error(`${declaration.name}: ${key} is set by ${layer} and already set by an earlier layer`);
    }
    environment[key] = value;
  };
  const platformValues = {
    STAGE: platform.stage,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: platform.logLevel,
    SALESCALING_BASE_URL: platform.salescalingBaseUrl,
    SALESCALING_MAX_RPS: String(
      requestsPerSecond(platform.salescalingMaxRps, platform.salescalingInvocations),
    ),
    SALESCALING_MAX_CONCURRENCY: String(platform.salescalingMaxConcurrency),
    // The whole budget, for the shared bucket; SALESCALING_MAX_RPS stays the static share (its fallback).
    SALESCALING_BUDGET_RPS: String(platform.salescalingMaxRps),
    SALESCALING_BUDGET: platform.salescalingBudget ?? 'shared',
    // Only when set: the client's own default (10 s) applies otherwise.
    ...(platform.salescalingTimeoutMs === undefined
      ? {}
      : { SALESCALING_TIMEOUT_MS: String(platform.salescalingTimeoutMs) }),
    ...(platform.salescalingKeyCacheMs === undefined
      ? {}
      : { SALESCALING_KEY_CACHE_MS: String(platform.salescalingKeyCacheMs) }),
  };
  for (const [key, value] of Object.entries(platformValues)) put(key, value, 'the platform');
  for (const [key, value] of Object.entries(declaration.environment)) put(key, value, 'the declaration');
  for (const resource of declaration.access) {
    put(resourceBindings[resource].env, resources[resource], `access ${resource}`);
  }
  // Records keyed on event ids must outlive the archive those events can be replayed from.
  if (declaration.access.includes('idempotencyTable')) {
    if (platform.idempotencyExpirySeconds === undefined) {
      throw new Error(
        `${declaration.name}: access idempotencyTable needs the platform's idempotencyExpirySeconds`,
      );
    }
    put('IDEMPOTENCY_EXPIRY_SECONDS', String(platform.idempotencyExpirySeconds), 'access idempotencyTable');
  }
  // A function that dead-letters for itself also knows its last delivery, to do so with the reason,
  // and the outage schedule and its queue, to back failing records off (shared/queues/retry.ts).
  const eventTrigger = declaration.triggers.find((t) => t.kind === 'event');
  if (ridesOutOutages(declaration) && eventTrigger) {
    if (!sourceQueueUrl) throw new Error(`${declaration.name}: SOURCE_QUEUE_URL needs its queue's URL`);
    const schedule = platform.retrySchedule ?? DEFAULT_RETRY_SCHEDULE;
    const retry = {
      MAX_RECEIVE_COUNT: String(maxReceiveCountOf(declaration, eventTrigger, schedule)),
      RETRY_WINDOW_SECONDS: String(schedule.windowSeconds),
      RETRY_BASE_SECONDS: String(schedule.baseSeconds),
      RETRY_CAP_SECONDS: String(schedule.capSeconds),
      SOURCE_QUEUE_URL: sourceQueueUrl,
    };
    for (const [key, value] of Object.entries(retry)) put(key, value, 'the event trigger');
  }
  for (const setting of declaration.settings) {
    put(settingBindings[setting].env, settings[setting], `setting ${setting}`);
  }
  return environment;
}

/**
 * How many invocations may call Salescaling at once across the catalog: for each function with
 * access to the key, its queues' maximum concurrency, plus one for its routes and schedules.
 */
export function salescalingConcurrency(declarations: readonly FunctionDeclaration[]): number {
  return declarations
    .filter((d) => d.access.includes('salescalingApiKey'))
    .reduce((sum, d) => {
      const queues = d.triggers.reduce((n, t) => n + (t.kind === 'event' ? t.maxConcurrency : 0), 0);
      const others = d.triggers.some((t) => t.kind !== 'event') ? 1 : 0;
      return sum + queues + others;
    }, 0);
}

/**
 * The share of the Salescaling budget (requests per second) one invocation may use, so that all
 * invocations together stay inside it: budget ÷ concurrent invocations, rounded down to 0.01.
 */
export function requestsPerSecond(budget: number, invocations: number): number {
  return Math.max(0.01, Math.floor((budget / Math.max(1, invocations)) * 100) / 100);
}
