import * as z from 'zod';
import { commandsConfigSchema } from '#functions/integration-commands/config.ts';
import { staleDealsConfigSchema } from '#functions/stale-deals/config.ts';
import { jsonEnv } from '#shared/config/json-env.ts';
import { fieldMappingSchema } from '#shared/leads/field-mapping.ts';
import { opportunityStatusesSchema } from '#shared/salescaling/assumptions.ts';
import { describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';

/**
 * `npm start` settings from the environment. Every one has a working default, so a fresh clone
 * starts with no set-up; a wrong value fails with the variable named.
 */
/** `whsec_` and the base64 of a 32-byte local key, as Standard Webhooks secrets are written. */
export const LOCAL_STANDARD_WEBHOOKS_SECRET = `whsec_${Buffer.from('local-standard-webhooks-secret!!').toString('base64')}`;

const secretList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().min(1)).min(1));

const envSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    /** Unset: the embedded emulator. Set: that Salescaling API (then SALESCALING_API_KEY is required). */
    SALESCALING_BASE_URL: z.url().optional(),
    /** The key the functions read from their (local) secret; also what the emulator accepts. */
    SALESCALING_API_KEY: z.string().min(1).optional(),
    /** Default 5 against a real API; 50 against the emulator, which has no limit of its own. */
    SALESCALING_MAX_RPS: z.coerce.number().positive().optional(),
    SALESCALING_MAX_CONCURRENCY: z.coerce.number().int().positive().default(3),
    /** `shared` (one token bucket in DynamoDB for every function) or `static` (budget ÷ invocations). */
    SALESCALING_BUDGET: z.enum(['shared', 'static']).default('shared'),
    /** `on`: schedules fire on their timers; `manual`: only through POST /_local/schedules/{name}. */
    LOCAL_SCHEDULES: z.enum(['on', 'manual']).default('on'),
    /**
     * How long a failing queue record is retried through a Salescaling outage (the stage's
     * `outage.windowMinutes`), in seconds: 2 minutes locally, so an outage plays out while you watch.
     */
    OUTAGE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
    /** The functions' log level (POWERTOOLS_LOG_LEVEL). */
    LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
    /** Webhook signing secrets the local lead endpoints accept; several, comma-separated, as during a rotation. */
    TYPEFORM_SIGNING_SECRET: secretList.default(['local-typeform-secret']),
    WEBFLOW_SIGNING_SECRET: secretList.default(['local-webflow-secret']),
    TALLY_SIGNING_SECRET: secretList.default(['local-tally-secret']),
    STANDARD_WEBHOOKS_SECRET: secretList.default([LOCAL_STANDARD_WEBHOOKS_SECRET]),
    /** Field mapping per provider and form, as JSON (see docs/lead-capture.md). */
    LEAD_FIELD_MAPPING: jsonEnv(fieldMappingSchema).optional(),
    /** Stale-deal rules as JSON; default {"dryRun": true}. */
    STALE_DEALS_CONFIG: jsonEnv(
      staleDealsConfigSchema.extend({ dryRun: z.boolean().default(true) }),
    ).optional(),
    /** The account's opportunity statuses as JSON, e.g. {"lost":"closed-lost"}; default open, won, lost. */
    OPPORTUNITY_STATUSES: jsonEnv(opportunityStatusesSchema).optional(),
    /** What inbound commands may do as JSON, e.g. {"allowDelete":true}; default: deletes refused. */
    COMMANDS_CONFIG: jsonEnv(commandsConfigSchema).optional(),
    /** Where form posts land; default: the local demo thank-you page. */
    THANK_YOU_URL: z.url().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.SALESCALING_BASE_URL && !env.SALESCALING_API_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['SALESCALING_API_KEY'],
        message: 'is required when SALESCALING_BASE_URL points at a real Salescaling API',
      });
    }
  });

export type LocalConfig = z.output<typeof envSchema>;

/** Every variable `npm start` reads (docs/local-runtime.md lists each; a test keeps them together). */
export const LOCAL_VARIABLES = Object.keys(envSchema.shape);

export function localConfigFromEnv(env: NodeJS.ProcessEnv): LocalConfig {
  const result = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!result.success) {
    throw new Error(`Invalid local configuration: ${describeFieldIssues(fieldIssues(result.error))}`);
  }
  return result.data;
}
