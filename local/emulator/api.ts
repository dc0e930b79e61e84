import * as z from 'zod';
import type { OperationName } from '#shared/salescaling/operations.ts';
import {
  companyWriteSchema,
  contactWriteSchema,
  describeFieldIssues,
  fieldIssues,
  linkCompanySchema,
  linkContactSchema,
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

function queryObject(query: URLSearchParams): Record<string, string> {
  const object: Record<string, string> = {};
  for (const [key, value] of query) object[key] = value;
  return object;
}

function pageOf(query: URLSearchParams): PageRequest {
  return parse(pageQuery, queryObject(query), 'query');
}

function list(items: unknown[]): ApiResult {
  return { status: 200, data: items, count: items.length };
}

function one(data: unknown, status = 200): ApiResult {
  return { status, data, count: 1 };
}

function notFound(what: string): never {
  throw new ApiError(404, `${what} not found`);
}

export function handleApi(store: EmulatorStore, operation: OperationName, request: ApiRequest): ApiResult {
  const { params, query, body } = request;
  const requireOpportunity = () => store.getOpportunity(params.id ?? '') ?? notFound('Opportunity');

  switch (operation) {
    case 'listOpportunities': {
      const filter = parse(z.object({ name: text, contactId: text }), queryObject(query), 'query');
      return list(store.listOpportunities(filter, pageOf(query)));
    }
    case 'createOpportunity':
      return one(
        store.createOpportunity(parse(opportunityWriteSchema, body, 'body')),
        emulatorSemantics.createStatus,
      );
    case 'getOpportunity':
      return one(requireOpportunity());
    case 'updateOpportunity': {
      requireOpportunity();
      const fields = parse(opportunityWriteSchema, body, 'body');
      return one(store.replaceOpportunity(params.id ?? '', fields) ?? notFound('Opportunity'));
    }
    case 'deleteOpportunity':
      if (!store.deleteOpportunity(params.id ?? '')) notFound('Opportunity');
      return one(true);
    case 'listOpportunityIntegrations': {
      const opportunity = requireOpportunity();
      return one({ opportunityId: opportunity.id, integrations: store.integrations(opportunity.id) });
    }
    case 'listOpportunityContacts':
      return list(store.listOpportunityContacts(requireOpportunity().id, pageOf(query)));
    case 'linkOpportunityContact': {
      const opportunity = requireOpportunity();
      const { contactId } = parse(linkContactSchema, body, 'body');
      if (!store.getContact(contactId)) notFound('Contact');
      store.linkContact(opportunity.id, contactId);
      return one(true);
    }
    case 'unlinkOpportunityContact': {
      const opportunity = requireOpportunity();
      if (!store.unlinkContact(opportunity.id, params.contactId ?? '')) notFound('Contact link');
      return one(true);
    }
    case 'listOpportunityCompanies':
      return list(store.listOpportunityCompanies(requireOpportunity().id, pageOf(query)));
    case 'linkOpportunityCompany': {
      const opportunity = requireOpportunity();
      const { companyId } = parse(linkCompanySchema, body, 'body');
      if (!store.getCompany(companyId)) notFound('Company');
      store.linkCompany(opportunity.id, companyId);
      return one(true);
    }
    case 'unlinkOpportunityCompany': {
      const opportunity = requireOpportunity();
      if (!store.unlinkCompany(opportunity.id, params.companyId ?? '')) notFound('Company link');
      return one(true);
    }
    case 'listContacts': {
      const filter = parse(
        z.object({ email: text, name: text, opportunityId: text, companyId: text }),
        queryObject(query),
        'query',
      );
      return list(store.listContacts(filter, pageOf(query)));
    }
    case 'createContact':
      return one(
        store.createContact(parse(contactWriteSchema, body, 'body')),
        emulatorSemantics.createStatus,
      );
    case 'listCompanies': {
      const filter = parse(z.object({ name: text }), queryObject(query), 'query');
      return list(store.listCompanies(filter, pageOf(query)));
    }
    case 'createCompany':
      return one(
        store.createCompany(parse(companyWriteSchema, body, 'body')),
        emulatorSemantics.createStatus,
      );
  }
}
