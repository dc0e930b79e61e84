import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  documentAjv,
  documentedFields,
  loadOpenApiDocument,
  OPENAPI_DOCUMENT_URL,
  operationsMissingFrom,
  SalescalingContract,
} from '#local/emulator/openapi.ts';
import * as assumptions from '#shared/salescaling/assumptions.ts';
import { contactWritableFields, opportunityWritableFields } from '#shared/salescaling/schemas.ts';

/**
 * docs/salescaling-openapi.yaml is itself checked: an OpenAPI 3.1 document whose every schema
 * compiles under Ajv 2020 strict (and is valid against the 2020-12 meta-schema), whose every $ref
 * resolves, which has every operation of Salescaling's reference, and whose every `x-assumed` names
 * an assumption that shared/salescaling/assumptions.ts declares.
 */
type Json = Record<string, unknown>;
const document = loadOpenApiDocument();
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** The twelve operations of salescaling-opportunities-api.txt, as its request lines write them. */
const REFERENCE_OPERATIONS = [
  'GET /api/v1/opportunities',
  'POST /api/v1/opportunities',
  'GET /api/v1/opportunities/{id}',
  'PUT /api/v1/opportunities/{id}',
  'DELETE /api/v1/opportunities/{id}',
  'GET /api/v1/opportunities/{id}/integrations',
  'GET /api/v1/opportunities/{id}/contacts',
  'POST /api/v1/opportunities/{id}/contacts',
  'GET /api/v1/opportunities/{id}/companies',
  'POST /api/v1/opportunities/{id}/companies',
  'DELETE /api/v1/opportunities/{id}/contacts/{contactId}',
  'DELETE /api/v1/opportunities/{id}/companies/{companyId}',
];
/** Where the reference is kept beside the project (not in the repository); compared when present. */
const REFERENCE_FILE = new URL(
  '../../../../shared/reference/salescaling-opportunities-api.txt',
  import.meta.url,
);

function operationsOf(doc: Json): Array<{ method: string; path: string; operation: Json }> {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({
      method,
      path,
      operation: item[method] as Json,
    })),
  );
}

function walk(node: unknown, visit: (value: Json, path: string) => void, path = ''): void {
  if (Array.isArray(node)) {
    node.forEach((item, index) => {
      walk(item, visit, `${path}/${index}`);
    });
  } else if (node && typeof node === 'object') {
    visit(node as Json, path);
    for (const [key, value] of Object.entries(node)) walk(value, visit, `${path}/${key}`);
  }
}

function pointer(doc: Json, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
}

describe('docs/salescaling-openapi.yaml', () => {
  it('is OpenAPI 3.1 with the API key header the reference documents', () => {
    const text = readFileSync(OPENAPI_DOCUMENT_URL, 'utf8');
    expect(parseYaml(text)).toEqual(document);
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document).toMatchObject({
      info: { title: expect.any(String), version: expect.any(String) },
      servers: [{ url: 'https://api.salescaling.com/api/v1' }],
      security: [{ apiKey: [] }],
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
    });
  });

  it('has every operation of the reference, and every operation the client declares, at the same path', () => {
    const documented = operationsOf(document).map(
      ({ method, path }) => `${method.toUpperCase()} /api/v1${path}`,
    );
    expect(documented).toEqual(expect.arrayContaining(REFERENCE_OPERATIONS));
    const contract = new SalescalingContract(document);
    expect(operationsMissingFrom(contract)).toEqual([]);
    expect(() => contract.compileAll()).not.toThrow();
    if (existsSync(REFERENCE_FILE)) {
      const inReference = [
        ...readFileSync(REFERENCE_FILE, 'utf8').matchAll(/^(GET|POST|PUT|DELETE) (\S+) HTTP\/1\.1$/gm),
      ].map((match) => `${match[1]} ${match[2]}`);
      expect(inReference.sort()).toEqual([...REFERENCE_OPERATIONS].sort());
    }
  });

  it('gives every operation a unique operationId, its path parameters, and the documented 401', () => {
    const ids = new Set<string>();
    for (const { method, path, operation } of operationsOf(document)) {
      const where = `${method} ${path}`;
      expect(typeof operation.operationId, where).toBe('string');
      expect(ids.has(operation.operationId as string), where).toBe(false);
      ids.add(operation.operationId as string);
      const item = (document.paths as Record<string, Json>)[path] as Json;
      const parameters = [...((item.parameters as Json[]) ?? []), ...((operation.parameters as Json[]) ?? [])]
        .map((p) => (typeof p.$ref === 'string' ? (pointer(document, p.$ref) as Json) : p))
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      expect(parameters.sort(), where).toEqual(templated.sort());
      expect((operation.responses as Json)['401'], where).toEqual({
        $ref: '#/components/responses/Unauthorized',
      });
    }
    expect(ids.size).toBe(16);
  });

  it("writes the fields the emulator stores (the client's lists of writable fields)", () => {
    expect(documentedFields('OpportunityWrite').sort()).toEqual([...opportunityWritableFields].sort());
    expect(documentedFields('ContactWrite').sort()).toEqual([...contactWritableFields].sort());
    expect(documentedFields('CompanyWrite').sort()).toEqual(['domain', 'name']);
  });

  it('resolves every $ref', () => {
    const refs: string[] = [];
    walk(document, (node) => {
      if (typeof node.$ref === 'string') refs.push(node.$ref);
    });
    expect(refs.length).toBeGreaterThan(50);
    const unresolved = refs.filter((ref) => !ref.startsWith('#/') || pointer(document, ref) === undefined);
    expect(unresolved).toEqual([]);
  });

  it('finds a $ref that does not resolve (the check can fail)', () => {
    expect(pointer(document, '#/components/schemas/Opportunity')).toBeDefined();
    expect(pointer(document, '#/components/schemas/Opportunty')).toBeUndefined();
  });

  it('compiles every schema under Ajv 2020 strict, valid against the 2020-12 meta-schema', () => {
    const ajv = documentAjv({ validateSchema: true });
    const schemas = (document.components as Json).schemas as Record<string, unknown>;
    // Compiled as one schema, so the $refs between them resolve; then each inline schema of the paths.
    const rewrite = (schema: unknown) =>
      JSON.parse(JSON.stringify(schema), (key, value) =>
        key === '$ref' && typeof value === 'string'
          ? value.replace('#/components/schemas/', 'components#/$defs/')
          : value,
      );
    ajv.addSchema({ $id: 'components', $defs: rewrite(schemas) });
    for (const name of Object.keys(schemas)) {
      expect(() => ajv.compile({ $ref: `components#/$defs/${name}` }), name).not.toThrow();
    }
    let inline = 0;
    walk(document.paths, (node, path) => {
      if (node.schema && typeof node.schema === 'object') {
        expect(() => ajv.compile(rewrite(node.schema)), path).not.toThrow();
        inline++;
      }
    });
    expect(inline).toBeGreaterThan(30);
    // Strict mode refuses a typo, so the compilation above can fail.
    expect(() => ajv.compile({ type: 'object', propertes: {} })).toThrow(/unknown keyword/);
  });

  it('marks each assumption with x-assumed, naming what shared/salescaling/assumptions.ts declares', () => {
    const notes: string[] = [];
    walk(document, (node) => {
      if (typeof node['x-assumed'] === 'string') notes.push(node['x-assumed']);
    });
    expect(notes.length).toBeGreaterThan(25);
    const declared = new Set(Object.keys(assumptions));
    const problems = notes.flatMap((note) => {
      const cited = / — declared in shared\/salescaling\/assumptions\.ts \(([^)]+)\)$/.exec(note)?.[1];
      if (!cited) return [`no declaration named: ${note}`];
      return cited
        .split(', ')
        .map((name) => name.split('.')[0] ?? '')
        .filter((name) => !declared.has(name))
        .map((name) => `${name} is not declared: ${note}`);
    });
    expect(problems).toEqual([]);
  });

  it('writes the assumed values as assumptions.ts declares them', () => {
    const parameters = (document.components as Json).parameters as Record<string, Json>;
    expect((parameters.limit?.schema as Json | undefined)?.maximum).toBe(assumptions.MAX_LIST_LIMIT);
    expect(parameters.limit?.['x-assumed']).toContain(String(assumptions.MAX_LIST_LIMIT));
    expect(parameters.limit?.['x-assumed']).toContain(`default ${assumptions.DEFAULT_LIST_LIMIT}`);
    expect(parameters.page?.['x-assumed']).toContain(`default ${assumptions.DEFAULT_PAGE}`);
    const create = (document.paths as Record<string, Json>)['/opportunities']?.post as Json;
    expect(Object.keys(create.responses as Json)).toContain(String(assumptions.CREATE_STATUS));
    expect((create.responses as Json)[String(assumptions.ERROR_STATUSES.validation)]).toEqual({
      $ref: '#/components/responses/BadRequest',
    });
  });
});
