import './zod-settings.ts';
import type { z } from 'zod';

/** Misconfiguration found at cold start: names every variable that is missing or wrong. */
export class ConfigurationError extends Error {
  readonly variables: readonly string[];
  constructor(message: string, variables: readonly string[]) {
    super(message);
    this.name = 'ConfigurationError';
    this.variables = variables;
  }
}

/**
 * Validates a function's environment once, at module scope, so a misconfigured function fails at
 * cold start with a message naming each variable, not on some later request.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.') || '(environment)';
    return { name, text: `${name}: ${issue.message}` };
  });
  throw new ConfigurationError(
    `Invalid configuration: ${problems.map((p) => p.text).join('; ')}`,
    problems.map((p) => p.name),
  );
}
