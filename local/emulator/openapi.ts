import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv2020, AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { type OperationName, operationNames, operations } from '#shared/salescaling/operations.ts';

// Loaded on first use, not when the emulator is imported: Ajv and yaml take tens of milliseconds to
// load, which `npm start` need not wait for (docs/emulator.md, "Start-up").
const require = createRequire(import.meta.url);
const ajvClass = () => (require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020;
const addFormats = (ajv: Ajv2020) => (require('ajv-formats') as typeof import('ajv-formats')).default(ajv);
const parseYaml = (text: string) => (require('yaml') as typeof import('yaml')).parse(text) as unknown;

/**
 * docs/salescaling-openapi.yaml, compiled with Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses): the
 * contract the emulator checks every request and every answer against, and the contract suite checks
 * live answers against. Written from Salescaling's reference, not from the client's zod schemas, so a
 * misreading in the client is not repeated here (test/property/client-schemas-contract.property.test.ts
 * compares the two).
 */
export const OPENAPI_DOCUMENT_URL = new URL('../../docs/salescaling-openapi.yaml', import.meta.url);
const DOCUMENT_ID = 'https://salescaling-automation.local/salescaling-openapi.json';

export interface ContractIssue {
  field: string;
  message: string;
}

type Json = Record<string, unknown>;

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: AnySchemaObject;
}

/** A validator, compiled on first use and kept (see SalescalingContract). */
type Validator = () => ValidateFunction;

interface CompiledOperation {
  method: string;
  path: string;
  pathParams: Validator | undefined;
  query: Validator | undefined;
  body: Validator | undefined;
  bodyRequired: boolean;
  /** By status key as the document writes it: "200", "404", "5XX", "default". */
  responses: Map<string, Validator>;
}

export function loadOpenApiDocument(): Json {
  return parseYaml(readFileSync(OPENAPI_DOCUMENT_URL, 'utf8')) as Json;
}

let parsed: Json | undefined;

/** The document, read and parsed once per process. */
export function openApiDocument(): Json {
  parsed ??= loadOpenApiDocument();
  return parsed;
}

/** The properties a schema of `components.schemas` documents (e.g. `OpportunityWrite`'s fields). */
export function documentedFields(schema: string): string[] {
  const schemas = ((openApiDocument().components ?? {}) as Json).schemas as Record<string, Json>;
  const properties = schemas[schema]?.properties;
  if (!properties) throw new Error(`The Salescaling document has no schema "${schema}" with properties`);
  return Object.keys(properties);
}

/**
 * An Ajv for the document: strict (an unknown keyword or a typo in the document fails compilation),
 * every error reported (so a 400 names every offending field), formats from ajv-formats, and the
 * document's own annotation `x-assumed` declared. `coerceTypes` is for query strings only.
 * Error count: Ajv reports one error per failing keyword of the input, so a hostile body costs in
 * proportion to its size (the emulator bounds bodies to 1 MiB and the issues it repeats).
 */
export function documentAjv(options: { coerceTypes?: boolean; validateSchema?: boolean } = {}): Ajv2020 {
  const ajv = new (ajvClass())({
    strict: true,
    allErrors: true,
    allowUnionTypes: true,
    coerceTypes: options.coerceTypes ?? false,
    // Checking each schema against the 2020-12 meta-schema costs ~50 ms per instance at start-up;
    // the document's test does it (validateSchema: true), so the emulator need not every time.
    validateSchema: options.validateSchema ?? false,
  });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-assumed', schemaType: 'string' });
  return ajv;
}

const SCHEMAS = '#/components/schemas/';

/**
 * Registers the document's schemas with Ajv, as `$defs` of one schema (the rest of the document is
 * not JSON Schema, and strict mode would refuse its keywords), every `#/components/schemas/…`
 * reference pointing there.
 */
function register(ajv: Ajv2020, document: Json): void {
  const schemas = ((document.components ?? {}) as Json).schemas ?? {};
  ajv.addSchema({ $id: DOCUMENT_ID, $defs: rewriteRefs(schemas, '#/$defs/') as Json });
}

function rewriteRefs(schema: unknown, prefix: string): unknown {
  return JSON.parse(JSON.stringify(schema), (key, value) => {
    if (key !== '$ref' || typeof value !== 'string') return value;
    if (!value.startsWith(SCHEMAS))
      throw new Error(`Only $refs to ${SCHEMAS}… are supported in schemas (got ${value})`);
    return `${prefix}${value.slice(SCHEMAS.length)}`;
  });
}

function resolve(document: Json, value: unknown): Json {
  let current = value as Json;
  for (let depth = 0; typeof current?.$ref === 'string' && depth < 10; depth++) {
    const ref = current.$ref as string;
    if (!ref.startsWith('#/')) throw new Error(`Only local $refs are supported (got ${ref})`);
    current = ref
      .slice(2)
      .split('/')
      .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], document) as Json;
    if (current === undefined) throw new Error(`Unresolved $ref ${ref}`);
  }
  return current;
}

/** A schema of the document as Ajv compiles it: its `$ref`s point into the registered `$defs`. */
function absolute(schema: unknown): AnySchemaObject {
  return rewriteRefs(schema, `${DOCUMENT_ID}#/$defs/`) as AnySchemaObject;
}

function parametersSchema(
  parameters: ParameterObject[],
  where: 'path' | 'query',
): AnySchemaObject | undefined {
  const chosen = parameters.filter((parameter) => parameter.in === where);
  if (chosen.length === 0) return undefined;
  return {
    type: 'object',
    properties: Object.fromEntries(chosen.map((parameter) => [parameter.name, parameter.schema])),
    required: chosen.filter((parameter) => parameter.required).map((parameter) => parameter.name),
  };
}

/**
 * Every operation of the document, by operationId, with its validators. The document is read and its
 * operations resolved at construction (a broken `$ref` fails the emulator's start); each validator is
 * compiled by Ajv the first time it is needed and kept for the life of the process, because compiling
 * all of them costs more than the rest of the emulator's start-up (docs/emulator.md, "Start-up").
 * `compileAll()` compiles them at once (the document's test does).
 */
export class SalescalingContract {
  readonly document: Json;
  readonly #operations = new Map<string, CompiledOperation>();
  readonly #validators: Validator[] = [];
  readonly #lazily: (schema: unknown) => Validator;

  constructor(document: Json = openApiDocument()) {
    this.document = document;
    const ajv = documentAjv();
    const queryAjv = documentAjv({ coerceTypes: true });
    register(ajv, document);
    register(queryAjv, document);
    // Most answers share a schema (every error is the ErrorEnvelope): each is compiled once.
    const compiled = new Map<string, ValidateFunction>();
    const lazily = (instance: Ajv2020, schema: unknown): Validator => {
      const key = `${instance === ajv ? 'json' : 'query'}:${JSON.stringify(schema)}`;
      const validator = () => {
        let validate = compiled.get(key);
        if (!validate) {
          validate = instance.compile(absolute(schema));
          compiled.set(key, validate);
        }
        return validate;
      };
      this.#validators.push(validator);
      return validator;
    };
    const compile = (schema: unknown) => lazily(ajv, schema);
    this.#lazily = compile;
    const paths = (document.paths ?? {}) as Record<string, Json>;
    for (const [path, item] of Object.entries(paths)) {
      const shared = ((item.parameters ?? []) as unknown[]).map((p) => resolve(document, p));
      for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
        const operation = item[method] as Json | undefined;
        if (!operation) continue;
        const id = String(operation.operationId);
        const parameters = [
          ...shared,
          ...((operation.parameters ?? []) as unknown[]).map((p) => resolve(document, p)),
        ] as unknown as ParameterObject[];
        const pathSchema = parametersSchema(parameters, 'path');
        const querySchema = parametersSchema(parameters, 'query');
        const requestBody = operation.requestBody ? resolve(document, operation.requestBody) : undefined;
        const responses = new Map<string, Validator>();
        for (const [status, response] of Object.entries((operation.responses ?? {}) as Json)) {
          const resolved = resolve(document, response);
          const schema = ((resolved.content as Json | undefined)?.['application/json'] as Json | undefined)
            ?.schema;
          if (schema !== undefined) responses.set(status, compile(schema));
        }
        this.#operations.set(id, {
          method: method.toUpperCase(),
          path,
          pathParams: pathSchema ? compile(pathSchema) : undefined,
          query: querySchema ? lazily(queryAjv, querySchema) : undefined,
          body: requestBody
            ? compile(((requestBody.content as Json)['application/json'] as Json).schema)
            : undefined,
          bodyRequired: requestBody?.required === true,
          responses,
        });
      }
    }
  }

  /** A validator for any schema of the document (its `$ref`s to `#/components/schemas/…`), without coercion. */
  validator(schema: unknown): (value: unknown) => ContractIssue[] {
    const validate = this.#lazily(schema);
    return (value) => run(validate(), value);
  }

  /** Compiles every validator now (each is otherwise compiled on first use). */
  compileAll(): void {
    for (const validator of this.#validators) validator();
  }

  /** The operationIds the document describes. */
  get operationIds(): string[] {
    return [...this.#operations.keys()];
  }

  has(operation: string): boolean {
    return this.#operations.has(operation);
  }

  /** Method and path (relative to the `/api/v1` base) of an operation, as the document says. */
  route(operation: string): { method: string; path: string } {
    const { method, path } = this.#get(operation);
    return { method, path };
  }

  /** Path parameters as strings. */
  checkPathParams(operation: string, params: Record<string, string>): ContractIssue[] {
    const validate = this.#get(operation).pathParams;
    return validate ? run(validate(), { ...params }) : [];
  }

  /**
   * Query parameters as strings (the first value of each), coerced to the document's types as a
   * server reads them. Parameters the document does not name are ignored, as servers do.
   */
  checkQuery(operation: string, query: URLSearchParams | Record<string, string>): ContractIssue[] {
    const validate = this.#get(operation).query;
    if (!validate) return [];
    const object: Record<string, unknown> = {};
    const entries = query instanceof URLSearchParams ? query.entries() : Object.entries(query);
    for (const [key, value] of entries) if (!(key in object)) object[key] = value;
    return run(validate(), object, 'query');
  }

  /** A request body as parsed JSON; `undefined` for none. */
  checkBody(operation: string, body: unknown): ContractIssue[] {
    const { body: validate, bodyRequired } = this.#get(operation);
    if (!validate) return [];
    if (body === undefined)
      return bodyRequired ? [{ field: '(body)', message: 'a JSON body is required' }] : [];
    return run(validate(), body);
  }

  /**
   * An answer's parsed JSON body against the response the document gives for its status (the exact
   * status, then `4XX`/`5XX`, then `default`). An undocumented status is an issue itself.
   */
  checkResponse(operation: string, status: number, body: unknown): ContractIssue[] {
    const { responses } = this.#get(operation);
    const validate =
      responses.get(String(status)) ?? responses.get(`${String(status)[0]}XX`) ?? responses.get('default');
    if (!validate) return [{ field: '(status)', message: `${status} is not an answer the document gives` }];
    return run(validate(), body);
  }

  #get(operation: string): CompiledOperation {
    const compiled = this.#operations.get(operation);
    if (!compiled) throw new Error(`The Salescaling document has no operation "${operation}"`);
    return compiled;
  }
}

function run(validate: ValidateFunction, value: unknown, root = ''): ContractIssue[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => describe(error, root));
}

/** An Ajv error as `{ field, message }`: the field by its path (or the missing/unknown key). */
function describe(error: ErrorObject, root: string): ContractIssue {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (params.missingProperty !== undefined) path.push(params.missingProperty);
  if (params.additionalProperty !== undefined) path.push(params.additionalProperty);
  const message =
    params.additionalProperty !== undefined ? 'is not a documented field' : (error.message ?? 'is invalid');
  const field = path.join('.') || root || '(body)';
  return { field, message };
}

let shared: SalescalingContract | undefined;

/** The document's contract, one per process (each validator compiled once, on first use). */
export function salescalingContract(): SalescalingContract {
  shared ??= new SalescalingContract();
  return shared;
}

/** The operations of shared/salescaling/operations.ts, each with the document's method and path. */
export function operationsMissingFrom(contract: SalescalingContract): string[] {
  return operationNames.filter((name: OperationName) => {
    if (!contract.has(name)) return true;
    const { method, path } = contract.route(name);
    return method !== operations[name].method || path !== operations[name].path;
  });
}
