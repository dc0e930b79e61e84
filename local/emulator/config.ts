import * as z from 'zod';
import { jsonEnv } from '#shared/config/json-env.ts';
import { describeFieldIssues, fieldIssues } from '#shared/salescaling/schemas.ts';
import { faultSettingsSchema } from './faults.ts';
import { DEFAULT_EMULATOR_API_KEY, type EmulatorOptions } from './server.ts';

/** The emulator's settings from the environment, validated so a typo fails with the variable named. */
const envSchema = z.object({
  EMULATOR_PORT: z.coerce.number().int().min(0).max(65_535).default(4010),
  EMULATOR_HOST: z.string().min(1).default('127.0.0.1'),
  /** One key, or several separated by commas (all accepted, as during a rotation). */
  EMULATOR_API_KEY: z.string().min(1).default(DEFAULT_EMULATOR_API_KEY),
  EMULATOR_DB_FILE: z.string().min(1).optional(),
  /** Opportunities to generate at start when the store is empty. */
  EMULATOR_SEED: z.coerce.number().int().min(0).max(100_000).optional(),
  /** Fault settings as JSON, e.g. {"errorRate":0.1,"latencyMs":50}. */
  EMULATOR_FAULTS: jsonEnv(faultSettingsSchema).optional(),
});

export function emulatorOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  defaults: { seed?: number } = {},
): EmulatorOptions & { port: number } {
  const result = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!result.success) {
    throw new Error(`Invalid emulator configuration: ${describeFieldIssues(fieldIssues(result.error))}`);
  }
  const config = result.data;
  const seed = config.EMULATOR_SEED ?? defaults.seed;
  return {
    port: config.EMULATOR_PORT,
    host: config.EMULATOR_HOST,
    apiKeys: config.EMULATOR_API_KEY.split(',')
      .map((key) => key.trim())
      .filter(Boolean),
    dbFile: config.EMULATOR_DB_FILE,
    faults: config.EMULATOR_FAULTS,
    seed: seed ? { opportunities: seed } : undefined,
  };
}
