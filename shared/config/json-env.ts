import './zod-settings.ts';
import * as z from 'zod';

/** An environment variable holding JSON, validated by `schema` (errors name the variable's fields). */
export const jsonEnv = <S extends z.ZodType>(schema: S) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
