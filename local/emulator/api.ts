import * as z from 'zod';
import { ERROR_STATUSES } from '#shared/salescaling/assumptions.ts';
import type { OperationName } from '#shared/salescaling/operations.ts';
import {
  companyWriteSchema,
  contactWriteSchema,
  describeFieldIssues,
  fieldIssues,
  linkCompanySchema,
  linkContactSchema,
  type OpportunityWrite,
  opportunityWritableFields,
  opportunityWriteSchema,
} from '#shared/salescaling/schemas.ts';
import { emulatorSemantics } from './semantics.ts';
import type { EmulatorStore, PageRequest } from './store.ts';

/** The Salescaling operations, as the emulator answers them: store calls behind validation. */
export interface ApiRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface ApiResult {
  status: number;
  data: unknown;
  count: number;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const positiveInt = (max: number) =>
  z.coerce
    .number({ error: 'must be a positive integer' })
    .int({ error: 'must be a positive integer' })
    .min(1, 'must be a positive integer')
    .max(max, `must be at most ${max}`);
const pageQuery = z.object({
  page: positiveInt(emulatorSemantics.maxPage).default(emulatorSemantics.defaultPage),
  limit: positiveInt(emulatorSemantics.maxLimit).default(emulatorSemantics.defaultLimit),
});
const text = z.string().min(1).optional();

function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ApiError(
      emulatorSemantics.validationStatus,
      `Invalid ${what}: ${describeFieldIssues(fieldIssues(result.error))}`,
    );
  }
  return result.data;
}

function pickWritable(record: Record<string, unknown>): Partial<OpportunityWrite> {
  return Object.fromEntries(
    opportunityWritableFields.filter((field) => record[field] != null).map((field) => [field, record[field]]),
  ) as Partial<OpportunityWrite>;
}

function queryObject(query: URLSearchParams): Record<string, string> {
  const object: Record<string, string> = {};
  for (const [key, value] of query) object[key] = value;
  return object;
}

function pageOf(query: URLSearchParams): PageRequest {
  return parse(pageQuery, queryObject(query), 'query');
}

/**
 * A page of `read`, its `count` as the assumption says: this page's items, or the list's total
 * (then read again whole: the emulator's data is small, and the default never pays it).
 */
function list(read: (page: PageRequest) => unknown[], page: PageRequest): ApiResult {
  const items = read(page);
  const count =
    emulatorSemantics.countMeans === 'total'
      ? read({ page: 1, limit: Number.MAX_SAFE_INTEGER }).length
      : items.length;
  return { status: 200, data: items, count };
}

function one(data: unknown, status = 200): ApiResult {
  return { status, data, count: 1 };
}

function notFound(what: string, status: number = ERROR_STATUSES.notFound): never {
  throw new ApiError(status, `${what} not found`);
}

/** Linking what is already linked: fine, or a conflict, as the assumption says. */
function linked(added: boolean, what: string): ApiResult {
  if (!added && emulatorSemantics.linkingTwice === 'conflict') {
    throw new ApiError(409, `${what} is already linked`);
  }
  return one(true);
}

export function handleApi(store: EmulatorStore, operation: OperationName, request: ApiRequest): ApiResult {
  const { params, query, body } = request;
  const requireOpportunity = () => store.getOpportunity(params.id ?? '') ?? notFound('Opportunity');

  switch (operation) {
    case 'listOpportunities': {
      const filter = parse(z.object({ name: text, contactId: text }), queryObject(query), 'query');
      return list((page) => store.listOpportunities(filter, page), pageOf(query));
    }
    case 'createOpportunity':
      return one(
        store.createOpportunity(parse(opportunityWriteSchema, body, 'body')),
        emulatorSemantics.createStatus,
      );
    case 'getOpportunity':
      return one(requireOpportunity());
    case 'updateOpportunity': {
      const current = requireOpportunity();
      const fields = parse(opportunityWriteSchema, body, 'body');
      // A patch keeps what the body leaves out; a replace (the assumption) clears it.
      const written = emulatorSemantics.putReplacesAllWritableFields
        ? fields
        : { ...pickWritable(current), ...fields };
      return one(store.replaceOpportunity(params.id ?? '', written) ?? notFound('Opportunity'));
    }
    case 'deleteOpportunity':
      if (!store.deleteOpportunity(params.id ?? '')) notFound('Opportunity');
      return one(true);
    case 'listOpportunityIntegrations': {
      const opportunity = requireOpportunity();
      return one({ opportunityId: opportunity.id, integrations: store.integrations(opportunity.id) });
    }
    case 'listOpportunityContacts': {
      const id = requireOpportunity().id;
      return list((page) => store.listOpportunityContacts(id, page), pageOf(query));
    }
    case 'linkOpportunityContact': {
      const opportunity = requireOpportunity();
      const { contactId } = parse(linkContactSchema, body, 'body');
      if (!store.getContact(contactId)) notFound('Contact');
      return linked(store.linkContact(opportunity.id, contactId), 'Contact');
    }
    case 'unlinkOpportunityContact': {
      const opportunity = requireOpportunity();
      if (!store.unlinkContact(opportunity.id, params.contactId ?? ''))
        notFound('Contact link', emulatorSemantics.unlinkMissingStatus);
      return one(true);
    }
    case 'listOpportunityCompanies': {
      const id = requireOpportunity().id;
      return list((page) => store.listOpportunityCompanies(id, page), pageOf(query));
    }
    case 'linkOpportunityCompany': {
      const opportunity = requireOpportunity();
      const { companyId } = parse(linkCompanySchema, body, 'body');
      if (!store.getCompany(companyId)) notFound('Company');
      return linked(store.linkCompany(opportunity.id, companyId), 'Company');
    }
    case 'unlinkOpportunityCompany': {
      const opportunity = requireOpportunity();
      if (!store.unlinkCompany(opportunity.id, params.companyId ?? ''))
        notFound('Company link', emulatorSemantics.unlinkMissingStatus);
      return one(true);
    }
    case 'listContacts': {
      const filter = parse(
        z.object({ email: text, name: text, opportunityId: text, companyId: text }),
        queryObject(query),
        'query',
      );
      return list((page) => store.listContacts(filter, page), pageOf(query));
    }
    case 'createContact':
      return one(
        store.createContact(parse(contactWriteSchema, body, 'body')),
        emulatorSemantics.createStatus,
      );
    case 'listCompanies': {
      const filter = parse(z.object({ name: text }), queryObject(query), 'query');
      return list((page) => store.listCompanies(filter, page), pageOf(query));
    }
    case 'createCompany':
      return one(
        store.createCompany(parse(companyWriteSchema, body, 'body')),
        emulatorSemantics.createStatus,
      );
  }
}
