import { z } from 'zod';
import { describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';

/**
 * `npm start` settings from the environment. Every one has a working default, so a fresh clone
 * starts with no set-up; a wrong value fails with the variable named.
 */
const envSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    /** Unset: the embedded emulator. Set: that Salescaling API (then SALESCALING_API_KEY is required). */
    SALESCALING_BASE_URL: z.url().optional(),
    /** The key the functions read from their (local) secret; also what the emulator accepts. */
    SALESCALING_API_KEY: z.string().min(1).optional(),
    SALESCALING_MAX_RPS: z.coerce.number().int().positive().default(5),
    SALESCALING_MAX_CONCURRENCY: z.coerce.number().int().positive().default(3),
    /** `on`: schedules fire on their timers; `manual`: only through POST /_local/schedules/{name}. */
    LOCAL_SCHEDULES: z.enum(['on', 'manual']).default('on'),
    /** The functions' log level (POWERTOOLS_LOG_LEVEL). */
    LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
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

export function localConfigFromEnv(env: NodeJS.ProcessEnv): LocalConfig {
  const result = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!result.success) {
    throw new Error(`Invalid local configuration: ${describeFieldIssues(fieldIssues(result.error))}`);
  }
  return result.data;
}
