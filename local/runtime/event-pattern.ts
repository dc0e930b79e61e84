/**
 * EventBridge event-pattern matching for the local bus, following EventBridge's documented
 * semantics: every key of the pattern must match; a list of matchers matches when any one does;
 * an array value in the event matches when any of its elements does; a key missing from the event
 * matches only `{ exists: false }`. Operators: exact values (string, number, boolean, null),
 * `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but` (value, list, prefix or
 * suffix), `numeric`, `exists`, and `$or`. `assertSupportedPattern` refuses anything else, so a
 * pattern the local bus cannot honour fails at start instead of matching wrongly.
 */
export type Pattern = Record<string, unknown>;

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
]);
const NUMERIC_OPS = new Set(['<', '<=', '=', '>', '>=']);

export function assertSupportedPattern(pattern: unknown, path = ''): void {
  if (!isObject(pattern)) throw new Error(`Event pattern${path ? ` at ${path}` : ''} must be an object`);
  for (const [key, value] of Object.entries(pattern)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2)
        throw new Error(`$or at ${at} needs at least two patterns`);
      for (const [i, branch] of value.entries()) assertSupportedPattern(branch, `${at}[${i}]`);
    } else if (Array.isArray(value)) {
      if (value.length === 0)
        throw new Error(`Event pattern at ${at} has an empty list, which matches nothing`);
      for (const matcher of value) assertSupportedMatcher(matcher, at);
    } else if (isObject(value)) {
      assertSupportedPattern(value, at);
    } else {
      throw new Error(`Event pattern at ${at} must be a list of matchers or a nested pattern`);
    }
  }
}

function assertSupportedMatcher(matcher: unknown, at: string): void {
  if (!isObject(matcher)) return; // exact value
  const keys = Object.keys(matcher);
  const [operator] = keys;
  if (keys.length !== 1 || operator === undefined || !OPERATORS.has(operator)) {
    throw new Error(
      `Event pattern at ${at} uses an operator the local bus does not support: ${JSON.stringify(matcher)}`,
    );
  }
  const argument = matcher[operator];
  if (operator === 'numeric') {
    if (!Array.isArray(argument) || argument.length % 2 !== 0 || argument.length === 0) {
      throw new Error(`numeric at ${at} must be pairs of operator and number`);
    }
    for (let i = 0; i < argument.length; i += 2) {
      if (!NUMERIC_OPS.has(String(argument[i])) || typeof argument[i + 1] !== 'number') {
        throw new Error(
          `numeric at ${at} has an invalid comparison ${JSON.stringify(argument.slice(i, i + 2))}`,
        );
      }
    }
  }
}

export function matchesPattern(pattern: Pattern, event: unknown): boolean {
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([key, expected]) => {
    if (key === '$or') return (expected as Pattern[]).some((branch) => matchesPattern(branch, event));
    const present = Object.hasOwn(event, key);
    const value = event[key];
    if (Array.isArray(expected)) return matchesList(expected, present, value);
    return present && isObject(expected) && matchesPattern(expected as Pattern, value);
  });
}

function matchesList(matchers: readonly unknown[], present: boolean, value: unknown): boolean {
  const values = Array.isArray(value) ? value : [value];
  return matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) return matcher.exists === present;
    if (!present) return false;
    // EventBridge: an array value matches when any of its elements matches.
    return values.some((v) => matchesOne(matcher, v));
  });
}

function matchesOne(matcher: unknown, value: unknown): boolean {
  if (!isObject(matcher)) return matcher === value || (matcher === null && value === null);
  if ('prefix' in matcher) return prefixOrSuffix(matcher.prefix, value, (v, p) => v.startsWith(p));
  if ('suffix' in matcher) return prefixOrSuffix(matcher.suffix, value, (v, s) => v.endsWith(s));
  if ('equals-ignore-case' in matcher) {
    return (
      typeof value === 'string' && value.toLowerCase() === String(matcher['equals-ignore-case']).toLowerCase()
    );
  }
  if ('wildcard' in matcher)
    return typeof value === 'string' && wildcardRegExp(String(matcher.wildcard)).test(value);
  if ('numeric' in matcher) return typeof value === 'number' && numeric(matcher.numeric as unknown[], value);
  if ('anything-but' in matcher)
    return value !== undefined && !matchesAnythingBut(matcher['anything-but'], value);
  return false;
}

/** True when `value` is one of the excluded ones (so `anything-but` does not match). */
function matchesAnythingBut(excluded: unknown, value: unknown): boolean {
  if (Array.isArray(excluded)) return excluded.includes(value);
  if (isObject(excluded)) return matchesOne(excluded, value);
  return excluded === value;
}

function prefixOrSuffix(
  argument: unknown,
  value: unknown,
  test: (value: string, affix: string) => boolean,
): boolean {
  if (typeof value !== 'string') return false;
  if (isObject(argument) && 'equals-ignore-case' in argument) {
    return test(value.toLowerCase(), String(argument['equals-ignore-case']).toLowerCase());
  }
  return test(value, String(argument));
}

function numeric(conditions: unknown[], value: number): boolean {
  for (let i = 0; i < conditions.length; i += 2) {
    const bound = conditions[i + 1] as number;
    const ok = {
      '<': value < bound,
      '<=': value <= bound,
      '=': value === bound,
      '>': value > bound,
      '>=': value >= bound,
    }[String(conditions[i]) as '<'];
    if (!ok) return false;
  }
  return true;
}

function wildcardRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 's');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
