import * as z from 'zod';
import { jsonEnv } from '#shared/config/json-env.ts';

/**
 * The stage's `commands` setting (locally COMMANDS_CONFIG): what inbound commands may do beyond
 * what the bus policy lets each integration send. Functions receive it as COMMANDS_CONFIG.
 */
export const commandsConfigSchema = z
  .object({
    /**
     * Whether `Delete Opportunity` is applied. Off by default on every stage: a delete cannot be
     * undone, so a stage turns it on deliberately; while off, each one is rejected unapplied.
     */
    allowDelete: z.boolean().default(false),
  })
  .strict();
export type CommandsConfig = z.output<typeof commandsConfigSchema>;

/** COMMANDS_CONFIG as the function reads it; unset means every default (deletes off). */
export const commandsConfigEnv = jsonEnv(commandsConfigSchema).prefault('{}');
