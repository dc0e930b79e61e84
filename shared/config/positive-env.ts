/**
 * A positive number from an environment variable, or the fallback when it is unset or empty; any
 * other value throws with the variable's name (at cold start, where the client is built).
 */
export function positiveNumberFromEnv(
  name: string,
  fallback: number,
  options: { integer?: boolean } = {},
): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  const valid = options.integer ? Number.isInteger(value) : Number.isFinite(value);
  if (!valid || value <= 0) {
    throw new Error(`${name} must be a positive ${options.integer ? 'integer' : 'number'} (got "${raw}")`);
  }
  return value;
}
