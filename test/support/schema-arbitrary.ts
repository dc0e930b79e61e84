import fc from 'fast-check';

/**
 * Examples from the JSON Schemas of docs/salescaling-openapi.yaml, for property tests: valid values
 * (a fast-check arbitrary) and, from a valid value, every single-step mutation that makes it invalid
 * (wrong type, missing required, out of range, bad format, an undocumented field).
 *
 * Written here because no JSON Schema → fast-check generator is installed (json-schema-faker would
 * be one; see docs/salescaling-operations.md). It covers only the keywords the document uses and
 * throws on any other, so a new keyword cannot be silently ignored; and every example it makes is
 * checked with Ajv by the tests that use it (a valid one must pass, a mutation must fail), so a
 * mistake here fails a test rather than weakening one.
 */
export type Schema = Record<string, unknown>;
export type Resolve = (ref: string) => Schema;

const KNOWN = new Set([
  '$ref',
  'allOf',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'const',
  'description',
  'examples',
  'x-assumed',
]);

/** The schema with `$ref` and `allOf` folded in (the document's `allOf`s add properties to an envelope). */
export function flatten(schema: Schema, resolve: Resolve): Schema {
  const unknown = Object.keys(schema).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) throw new Error(`schema-arbitrary: unsupported keywords ${unknown.join(', ')}`);
  let result: Schema = { ...schema };
  if (typeof schema.$ref === 'string') {
    const { $ref: _, ...rest } = result;
    result = merge(flatten(resolve(schema.$ref), resolve), rest);
  }
  if (Array.isArray(schema.allOf)) {
    const { allOf: _, ...rest } = result;
    result = (schema.allOf as Schema[]).reduce<Schema>(
      (merged, part) => merge(merged, flatten(part, resolve)),
      rest,
    );
  }
  return result;
}

function merge(a: Schema, b: Schema): Schema {
  const properties: Record<string, Schema> = { ...(a.properties as Record<string, Schema> | undefined) };
  for (const [name, schema] of Object.entries((b.properties ?? {}) as Record<string, Schema>)) {
    properties[name] = properties[name] ? { allOf: [properties[name], schema] } : schema;
  }
  const required = [...new Set([...((a.required as string[]) ?? []), ...((b.required as string[]) ?? [])])];
  const merged: Schema = { ...a, ...b };
  if (a.properties || b.properties) merged.properties = properties;
  if (required.length > 0) merged.required = required;
  return merged;
}

const typesOf = (schema: Schema): string[] =>
  schema.const !== undefined
    ? [typeof schema.const]
    : Array.isArray(schema.type)
      ? (schema.type as string[])
      : typeof schema.type === 'string'
        ? [schema.type]
        : ['any'];

const ordinaryEmail = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{1,12}([._+-][a-z0-9]{1,6})?$/),
    fc.stringMatching(/^[a-z0-9]{1,12}(-[a-z0-9]{1,8})?\.[a-z]{2,6}$/),
  )
  .map(([local, domain]) => `${local}@${domain}`);
const domainName = fc.stringMatching(/^([a-zA-Z0-9]{1,10}(-[a-zA-Z0-9]{1,10})?\.){1,3}[a-zA-Z]{2,8}$/);
const instant = fc.date({
  min: new Date('1970-01-01T00:00:00Z'),
  max: new Date('2100-01-01T00:00:00Z'),
  noInvalidDate: true,
});
const dateTime = fc.oneof(
  instant.map((date) => date.toISOString()),
  instant.map((date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z')),
  fc
    .tuple(instant, fc.integer({ min: -12, max: 14 }))
    .map(
      ([date, hours]) =>
        `${date.toISOString().slice(0, 19)}${hours < 0 ? '-' : '+'}${String(Math.abs(hours)).padStart(2, '0')}:00`,
    ),
);

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0;
  // Long enough to matter, short enough to keep runs fast (no documented maximum is below 40).
  const maxLength = Math.min((schema.maxLength as number | undefined) ?? 40, 40);
  switch (schema.format) {
    case 'uuid':
      return fc.oneof(
        fc.uuid(),
        fc.uuid().map((id) => id.toUpperCase()),
      );
    case 'date-time':
      return dateTime;
    case 'date':
      return instant.map((date) => date.toISOString().slice(0, 10));
    case 'email':
      return ordinaryEmail;
    case 'uri':
      return fc.webUrl();
    case undefined:
      break;
    default:
      throw new Error(`schema-arbitrary: unsupported format ${String(schema.format)}`);
  }
  if (typeof schema.pattern === 'string') {
    const pattern = new RegExp(schema.pattern, 'u');
    if (schema.pattern === '\\S')
      return fc.string({ minLength: Math.max(minLength, 1), maxLength }).filter((s) => pattern.test(s));
    // The one other pattern of the document: a domain name (CompanyWrite.domain).
    if (schema.pattern.includes('[a-zA-Z]{2,63}$')) return domainName.filter((s) => pattern.test(s));
    throw new Error(`schema-arbitrary: unsupported pattern ${schema.pattern}`);
  }
  return fc.string({ minLength, maxLength });
}

/** Valid values of `schema`. */
export function valid(schema: Schema, resolve: Resolve, depth = 0): fc.Arbitrary<unknown> {
  const flat = flatten(schema, resolve);
  if (flat.const !== undefined) return fc.constant(flat.const);
  const choices = typesOf(flat).map((type): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({
          min: (flat.minimum as number | undefined) ?? -1_000_000,
          max: (flat.maximum as number | undefined) ?? 1_000_000,
        });
      case 'number': {
        const min = (flat.minimum as number | undefined) ?? -1e12;
        const max = (flat.maximum as number | undefined) ?? 1e12;
        return fc.oneof(
          fc.integer({ min: Math.ceil(min), max: Math.floor(max) }),
          fc
            .double({ min, max, noNaN: true, noDefaultInfinity: true })
            .map((n) => (Object.is(n, -0) ? 0 : n)),
        );
      }
      case 'string':
        return stringArbitrary(flat);
      case 'array':
        return fc.array(flat.items ? valid(flat.items as Schema, resolve, depth + 1) : fc.jsonValue(), {
          maxLength: 4,
        });
      case 'object':
        return objectArbitrary(flat, resolve, depth);
      case 'any':
        return depth > 3 ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 });
      default:
        throw new Error(`schema-arbitrary: unsupported type ${type}`);
    }
  });
  return choices.length === 1 ? (choices[0] as fc.Arbitrary<unknown>) : fc.oneof(...choices);
}

function objectArbitrary(flat: Schema, resolve: Resolve, depth: number): fc.Arbitrary<unknown> {
  const properties = (flat.properties ?? {}) as Record<string, Schema>;
  const required = (flat.required ?? []) as string[];
  const record = fc.record(
    Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, valid(s, resolve, depth + 1)])),
    { requiredKeys: required.filter((name) => name in properties) },
  );
  if (flat.additionalProperties === false) return record;
  // Where the document allows more (answers), add a field it does not name.
  return fc
    .tuple(record, fc.option(fc.jsonValue({ maxDepth: 1 }), { nil: undefined }))
    .map(([value, extra]) => (extra === undefined ? value : { ...value, undocumentedExtra: extra }));
}

export type MutationKind = 'wrong-type' | 'missing' | 'out-of-range' | 'bad-format' | 'extra-field';

export interface Mutation {
  kind: MutationKind;
  /** Where, as `data.0.closeProbability`; `(root)` for the value itself. */
  path: string;
  /** The field's name (the last segment of the path). */
  field: string;
  value: unknown;
}

const WRONG_TYPE_VALUES: Array<{ type: string; value: unknown }> = [
  { type: 'string', value: 'a string' },
  { type: 'numeric-string', value: '12' },
  { type: 'number', value: 1.5 },
  { type: 'integer', value: 7 },
  { type: 'boolean', value: true },
  { type: 'null', value: null },
  { type: 'array', value: [] },
  { type: 'object', value: {} },
];

function wrongTypes(types: string[]): unknown[] {
  const allowed = (type: string) =>
    types.includes('any') ||
    types.includes(type) ||
    (type === 'integer' && types.includes('number')) ||
    (type === 'numeric-string' && types.includes('string'));
  return WRONG_TYPE_VALUES.filter(({ type }) => !allowed(type)).map(({ value }) => value);
}

function badValues(flat: Schema): Array<{ kind: MutationKind; value: unknown }> {
  const out: Array<{ kind: MutationKind; value: unknown }> = [];
  const types = typesOf(flat);
  if (typeof flat.minimum === 'number') out.push({ kind: 'out-of-range', value: flat.minimum - 1 });
  if (typeof flat.maximum === 'number') out.push({ kind: 'out-of-range', value: flat.maximum + 1 });
  if (types.includes('string')) {
    if (typeof flat.minLength === 'number' && flat.minLength > 0)
      out.push({ kind: 'out-of-range', value: '' });
    const bad: Record<string, string[]> = {
      uuid: ['not-a-uuid', '5516cd47-2bd0-4f4f-adc2-22524e54ba4'],
      'date-time': ['next tuesday', '2024-03-10'],
      date: ['10/03/2024', '2024-02-30'],
      email: ['not an email', 'ada@'],
      uri: ['not a url'],
    };
    for (const value of bad[String(flat.format)] ?? []) out.push({ kind: 'bad-format', value });
    if (flat.pattern === '\\S') out.push({ kind: 'bad-format', value: '   ' });
    else if (typeof flat.pattern === 'string' && flat.format === undefined)
      out.push({ kind: 'bad-format', value: 'not a domain' }, { kind: 'bad-format', value: 'localhost' });
  }
  return out;
}

/** Every single-step invalidation of `value` (a valid value of `schema`), at every depth. */
export function mutations(schema: Schema, value: unknown, resolve: Resolve, path = '(root)'): Mutation[] {
  const flat = flatten(schema, resolve);
  const field = path.split('.').at(-1) ?? path;
  const here: Mutation[] = [
    ...wrongTypes(typesOf(flat)).map((v) => ({ kind: 'wrong-type' as const, path, field, value: v })),
    ...badValues(flat).map(({ kind, value: v }) => ({ kind, path, field, value: v })),
  ];
  const at = (child: string) => (path === '(root)' ? child : `${path}.${child}`);
  if (value && typeof value === 'object' && !Array.isArray(value) && typesOf(flat).includes('object')) {
    const properties = (flat.properties ?? {}) as Record<string, Schema>;
    const object = value as Record<string, unknown>;
    for (const name of (flat.required ?? []) as string[]) {
      here.push({ kind: 'missing', path: at(name), field: name, value: undefined });
    }
    for (const [name, propertySchema] of Object.entries(properties)) {
      if (name in object) here.push(...mutations(propertySchema, object[name], resolve, at(name)));
      else
        here.push(
          ...mutations(propertySchema, undefined, resolve, at(name)).filter((m) => m.path === at(name)),
        );
    }
    if (flat.additionalProperties === false) {
      here.push({ kind: 'extra-field', path: at('unexpectedField'), field: 'unexpectedField', value: 1 });
    }
  }
  if (Array.isArray(value) && flat.items && value.length > 0) {
    here.push(...mutations(flat.items as Schema, value[0], resolve, at('0')));
  }
  return here;
}

/** `value` with the mutation applied (a copy). */
export function apply(value: unknown, mutation: Mutation): unknown {
  if (mutation.path === '(root)') return mutation.value;
  const copy = structuredClone(value) as Record<string, unknown>;
  const segments = mutation.path.split('.');
  const last = segments.pop() as string;
  const parent = segments.reduce<Record<string, unknown>>(
    (node, segment) => node[segment] as Record<string, unknown>,
    copy,
  );
  if (mutation.kind === 'missing') delete parent[last];
  else parent[last] = mutation.value;
  return copy;
}
