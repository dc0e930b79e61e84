import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { openApiDocument, SalescalingContract } from '#local/emulator/openapi.ts';
import {
  companyListQuerySchema,
  companySchema,
  companyWriteSchema,
  contactListQuerySchema,
  contactSchema,
  contactWriteSchema,
  envelopeSchema,
  idSchema,
  integrationsSchema,
  linkCompanySchema,
  linkContactSchema,
  opportunityCompanySchema,
  opportunityContactSchema,
  opportunityListQuerySchema,
  opportunitySchema,
  opportunityWriteSchema,
  pageQuerySchema,
} from '#shared/salescaling/schemas.ts';
import {
  apply,
  type Mutation,
  mutations,
  type Resolve,
  type Schema,
  valid,
} from '#test/support/schema-arbitrary.ts';

/**
 * The client's zod schemas (shared/salescaling/schemas.ts) accept exactly what
 * docs/salescaling-openapi.yaml allows, operation by operation: what the client sends (path
 * parameters, query, body) and what it reads (the envelope and its data). Examples are generated from
 * the document's schemas: valid ones must be accepted; every single-step invalidation (wrong type,
 * missing required, out of range, bad format, an undocumented field) must be refused — unless an
 * entry of the short lists below says why not. Every example is first checked with Ajv against the
 * document, so the generator cannot drift from it.
 */
type Json = Record<string, unknown>;
const document = openApiDocument();
const contract = new SalescalingContract(document);
const resolve: Resolve = (ref) =>
  ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Json)[key.replaceAll('~1', '/')], document) as Schema;

const RUNS = 40;
/** Which listed exceptions were needed: one never needed is stale, and is removed (last test). */
const used = new Set<string>();

// ------------------------------------------------------------------------------------------------
// What the client sends

/**
 * Where the client sends something other than what it was given, or refuses what the document
 * allows: each on purpose. When the client accepts an input the document refuses, what it sends
 * must still be valid (checked for every accepted example, whatever the list says).
 */
const REQUEST_EXCEPTIONS: Array<{ why: string; applies: (m: Mutation, operation: string) => boolean }> = [
  {
    why: 'an undocumented field is stripped, not refused: only documented fields leave the process',
    applies: (m) => m.kind === 'extra-field',
  },
  {
    why: 'a close date may be given as a date alone; it is sent as midnight UTC, a date-time',
    applies: (m) => m.field === 'closeDate' && m.value === '2024-03-10',
  },
];

/**
 * The client refuses a contact with neither an email nor a name (nothing could find it again): a
 * product rule, stricter than the API, where every field is optional.
 */
const contactIsFindable = (body: unknown) => {
  const contact = body as { email?: unknown; firstName?: unknown; lastName?: unknown };
  return Boolean(contact.email || contact.firstName || contact.lastName);
};

interface RequestPart {
  operation: string;
  part: 'path' | 'query' | 'body';
  schema: Schema;
  zod: z.ZodType;
  /** The client's extra rule, where it has one (a valid example it refuses on purpose). */
  accepts?: (value: unknown) => boolean;
}

function operationsOf(): Array<{ id: string; parameters: Json[]; body: Schema | undefined }> {
  return Object.values(document.paths as Record<string, Json>).flatMap((item) =>
    ['get', 'put', 'post', 'delete']
      .filter((method) => item[method])
      .map((method) => {
        const operation = item[method] as Json;
        const parameters = [
          ...((item.parameters as Json[]) ?? []),
          ...((operation.parameters as Json[]) ?? []),
        ].map((p) => (typeof p.$ref === 'string' ? (resolve(p.$ref) as Json) : p));
        const body = (operation.requestBody as Json | undefined)?.content as Json | undefined;
        return {
          id: String(operation.operationId),
          parameters,
          body: (body?.['application/json'] as Json | undefined)?.schema as Schema | undefined,
        };
      }),
  );
}

/** The parameters of one kind as one object schema, as the client passes them. */
function parametersSchema(parameters: Json[], where: 'path' | 'query'): Schema | undefined {
  const chosen = parameters.filter((p) => p.in === where);
  if (chosen.length === 0) return undefined;
  return {
    type: 'object',
    properties: Object.fromEntries(chosen.map((p) => [p.name, p.schema])),
    required: chosen.filter((p) => p.required).map((p) => p.name),
  };
}

const queryZod: Record<string, z.ZodType> = {
  listOpportunities: opportunityListQuerySchema,
  listOpportunityContacts: pageQuerySchema,
  listOpportunityCompanies: pageQuerySchema,
  listContacts: contactListQuerySchema,
  listCompanies: companyListQuerySchema,
};
const bodyZod: Record<string, { zod: z.ZodType; accepts?: (value: unknown) => boolean }> = {
  createOpportunity: { zod: opportunityWriteSchema },
  updateOpportunity: { zod: opportunityWriteSchema },
  linkOpportunityContact: { zod: linkContactSchema },
  linkOpportunityCompany: { zod: linkCompanySchema },
  createContact: { zod: contactWriteSchema, accepts: contactIsFindable },
  createCompany: { zod: companyWriteSchema },
};

const requestParts: RequestPart[] = operationsOf().flatMap(({ id, parameters, body }) => {
  const parts: RequestPart[] = [];
  const path = parametersSchema(parameters, 'path');
  if (path) {
    // The client checks each path parameter with idSchema before building the URL.
    const names = Object.keys(path.properties as Json);
    parts.push({
      operation: id,
      part: 'path',
      schema: path,
      zod: z.object(Object.fromEntries(names.map((n) => [n, idSchema]))),
    });
  }
  const query = parametersSchema(parameters, 'query');
  if (query) {
    const zod = queryZod[id];
    if (!zod) throw new Error(`No client query schema listed for ${id}`);
    parts.push({ operation: id, part: 'query', schema: query, zod });
  }
  if (body) {
    const entry = bodyZod[id];
    if (!entry) throw new Error(`No client body schema listed for ${id}`);
    parts.push({ operation: id, part: 'body', schema: body, ...entry });
  }
  return parts;
});

describe('what the client sends, against the document', () => {
  it('covers every operation that takes parameters or a body', () => {
    expect(new Set(requestParts.map((p) => p.operation)).size).toBe(16);
    expect(
      requestParts
        .filter((p) => p.part === 'body')
        .map((p) => p.operation)
        .sort(),
    ).toEqual(Object.keys(bodyZod).sort());
  });

  it.each(requestParts.map((part) => [`${part.operation} ${part.part}`, part] as const))(
    '%s: accepts every valid example, refuses every invalid one, and sends only what is valid',
    (_, { operation, schema, zod, accepts }) => {
      const check = contract.validator(schema);
      fc.assert(
        fc.property(valid(schema, resolve), (example) => {
          expect(check(example), 'the generator made an invalid example').toEqual([]);
          const parsed = zod.safeParse(example);
          const wanted = accepts ? accepts(example) : true;
          expect(parsed.success, JSON.stringify(example)).toBe(wanted);
          if (parsed.success) expect(check(parsed.data), 'what the client would send').toEqual([]);

          for (const mutation of mutations(schema, example, resolve)) {
            const invalid = apply(example, mutation);
            expect(check(invalid), `the mutation ${JSON.stringify(mutation)} left it valid`).not.toEqual([]);
            const result = zod.safeParse(invalid);
            if (!result.success) continue;
            // Accepted: only under a listed exception, and what is sent is still valid.
            const exception = REQUEST_EXCEPTIONS.find((e) => e.applies(mutation, operation));
            expect(exception, `accepted ${JSON.stringify(mutation)} of ${operation}`).toBeDefined();
            used.add(exception?.why ?? '');
            expect(check(result.data), `sent after ${JSON.stringify(mutation)}`).toEqual([]);
          }
        }),
        { numRuns: RUNS },
      );
    },
  );
});

// ------------------------------------------------------------------------------------------------
// What the client reads

/** The ids the product acts on: read strictly (a record without a usable id is not a record). */
const IDS = new Set(['id', 'contactId', 'companyId']);
const underData = (m: Mutation) => m.path.startsWith('data.') && !IDS.has(m.field);

/**
 * Where the client reads more leniently than the document, on purpose: the reference shows
 * examples, not guarantees, and a sweep must not stop at one odd record. Types are checked; these
 * are not.
 */
const RESPONSE_EXCEPTIONS: Array<{ why: string; applies: (m: Mutation) => boolean }> = [
  {
    why: 'a field may be missing or null (except the ids), as may the envelope’s statusCode, count and error',
    applies: (m) =>
      (m.kind === 'missing' || (m.kind === 'wrong-type' && m.value === null)) &&
      (underData(m) || ['statusCode', 'count', 'error'].includes(m.path)),
  },
  {
    why: 'a number sent as a numeric string is read as the number',
    applies: (m) => underData(m) && m.kind === 'wrong-type' && m.value === '12',
  },
  {
    why: 'formats and ranges of fields are not judged (a date is kept as sent, a probability as sent)',
    applies: (m) => underData(m) && (m.kind === 'bad-format' || m.kind === 'out-of-range'),
  },
];

/** How the client reads each operation's `data` (undefined: it does not). */
const dataZod: Record<string, z.ZodType | undefined> = {
  listOpportunities: z.array(opportunitySchema),
  createOpportunity: opportunitySchema,
  getOpportunity: opportunitySchema,
  updateOpportunity: opportunitySchema,
  deleteOpportunity: undefined,
  listOpportunityIntegrations: integrationsSchema,
  listOpportunityContacts: z.array(opportunityContactSchema),
  linkOpportunityContact: undefined,
  unlinkOpportunityContact: undefined,
  listOpportunityCompanies: z.array(opportunityCompanySchema),
  linkOpportunityCompany: undefined,
  unlinkOpportunityCompany: undefined,
  listContacts: z.array(contactSchema),
  createContact: contactSchema,
  listCompanies: z.array(companySchema),
  createCompany: companySchema,
};

function clientReads(operation: string, answer: unknown): boolean {
  const envelope = envelopeSchema.safeParse(answer);
  if (!envelope.success) return false;
  const reader = dataZod[operation];
  return reader ? reader.safeParse(envelope.data.data).success : true;
}

const answers = Object.values(document.paths as Record<string, Json>).flatMap((item) =>
  ['get', 'put', 'post', 'delete']
    .filter((method) => item[method])
    .map((method) => {
      const operation = item[method] as Json;
      const ok = (operation.responses as Json)['200'] as Json;
      const schema = ((ok.content as Json)['application/json'] as Json).schema as Schema;
      return [String(operation.operationId), schema] as const;
    }),
);

describe('what the client reads, against the document', () => {
  it('covers every operation', () => {
    expect(answers.map(([id]) => id).sort()).toEqual(Object.keys(dataZod).sort());
  });

  it.each(answers)('%s: reads every valid answer, and refuses every invalid one', (operation, schema) => {
    const check = contract.validator(schema);
    fc.assert(
      fc.property(valid(schema, resolve), (answer) => {
        expect(check(answer), 'the generator made an invalid answer').toEqual([]);
        expect(clientReads(operation, answer), JSON.stringify(answer)).toBe(true);
        for (const mutation of mutations(schema, answer, resolve)) {
          const invalid = apply(answer, mutation);
          expect(check(invalid), `the mutation ${JSON.stringify(mutation)} left it valid`).not.toEqual([]);
          if (!clientReads(operation, invalid)) continue;
          // The data of delete, link and unlink (`true`) is not read: the 2xx status says it.
          const notRead = dataZod[operation] === undefined && mutation.path.startsWith('data');
          const exception = RESPONSE_EXCEPTIONS.find((e) => e.applies(mutation));
          expect(notRead || exception !== undefined, `read ${JSON.stringify(mutation)} of ${operation}`).toBe(
            true,
          );
          if (!notRead && exception) used.add(exception.why);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the listed exceptions', () => {
  it('are each needed (an exception no example needs is stale)', () => {
    const listed = [...REQUEST_EXCEPTIONS, ...RESPONSE_EXCEPTIONS].map((e) => e.why);
    expect(listed.filter((why) => !used.has(why))).toEqual([]);
  });
});
