import * as z from 'zod';
import { ERROR_STATUSES } from '#shared/salescaling/assumptions.ts';
import type { OperationName } from '#shared/salescaling/operations.ts';
import {
  boundFieldIssues,
  describeFieldIssues,
  type OpportunityWrite,
  opportunityWritableFields,
} from '#shared/salescaling/schemas.ts';
import { type ContractIssue, salescalingContract } from './openapi.ts';
import { emulatorSemantics } from './semantics.ts';
import type { EmulatorStore, PageRequest } from './store.ts';

/**
 * The Salescaling operations, as the emulator answers them: store calls behind validation. Requests
 * are validated against docs/salescaling-openapi.yaml (openapi.ts), never with the client's zod
 * schemas, so a misreading of the reference in the client is not repeated here.
 */
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

/**
 * The emulator's own bounds on paging, checked after the document's: `maxPage` is the emulator's
 * (so `page × limit` stays exact), `maxLimit` the assumption (MAX_LIST_LIMIT), read from semantics so
 * flipping the assumption moves it.
 */
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

function refuse(status: number, what: string, issues: readonly ContractIssue[]): never {
  throw new ApiError(status, `Invalid ${what}: ${describeFieldIssues(boundFieldIssues(issues))}`);
}

/**
 * The request against the document: a path parameter that is not a UUID is answered as an unknown
 * id (ERROR_STATUSES.malformedId), a bad query or body with 400 naming every offending field.
 */
function checkRequest(operation: OperationName, request: ApiRequest): void {
  const contract = salescalingContract();
  const params = contract.checkPathParams(operation, request.params);
  if (params.length > 0) refuse(emulatorSemantics.malformedIdStatus, 'path parameter', params);
  const query = contract.checkQuery(operation, request.query);
  if (LISTS.has(operation)) {
    // The emulator's own bounds too, for what the document let through.
    const named = new Set(query.map((issue) => issue.field));
    query.push(...pageIssues(request.query).filter((issue) => !named.has(issue.field)));
  }
  const body = contract.checkBody(operation, request.body);
  if (query.length > 0 || body.length > 0) {
    refuse(emulatorSemantics.validationStatus, query.length > 0 ? 'query' : 'body', [...query, ...body]);
  }
}

function queryText(query: URLSearchParams, name: string): string | undefined {
  return query.get(name) ?? undefined;
}

/** Dates stored as the reference shows them: ISO-8601 UTC with milliseconds. */
function isoDate(value: unknown): unknown {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  // A form the document allows but Date cannot read (a leap second, say) is kept as sent.
  return Number.isNaN(time) ? value : new Date(time).toISOString();
}

function pickWritable(record: Record<string, unknown>): Partial<OpportunityWrite> {
  return Object.fromEntries(
    opportunityWritableFields.filter((field) => record[field] != null).map((field) => [field, record[field]]),
  ) as Partial<OpportunityWrite>;
}

const LISTS = new Set<OperationName>([
  'listOpportunities',
  'listOpportunityContacts',
  'listOpportunityCompanies',
  'listContacts',
  'listCompanies',
]);

function parsePage(query: URLSearchParams) {
  return pageQuery.safeParse({ page: queryText(query, 'page'), limit: queryText(query, 'limit') });
}

function pageIssues(query: URLSearchParams): ContractIssue[] {
  const result = parsePage(query);
  return result.success
    ? []
    : result.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }));
}

function pageOf(query: URLSearchParams): PageRequest {
  const result = parsePage(query);
  if (!result.success) refuse(emulatorSemantics.validationStatus, 'query', pageIssues(query));
  return result.data;
}

/** A company as stored: its domain lower case (domain names are case-insensitive). */
function companyFields(body: unknown): Record<string, unknown> {
  const fields = body as Record<string, unknown>;
  return typeof fields.domain === 'string' ? { ...fields, domain: fields.domain.toLowerCase() } : fields;
}

/** An opportunity body the document accepted, as stored. */
function opportunityFields(body: unknown): Partial<OpportunityWrite> {
  const fields = body as Record<string, unknown>;
  return { ...fields, closeDate: isoDate(fields.closeDate) } as Partial<OpportunityWrite>;
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
  checkRequest(operation, request);
  const { params, query, body } = request;
  const requireOpportunity = () => store.getOpportunity(params.id ?? '') ?? notFound('Opportunity');

  switch (operation) {
    case 'listOpportunities': {
      const filter = { name: queryText(query, 'name'), contactId: queryText(query, 'contactId') };
      return list((page) => store.listOpportunities(filter, page), pageOf(query));
    }
    case 'createOpportunity':
      return one(store.createOpportunity(opportunityFields(body)), emulatorSemantics.createStatus);
    case 'getOpportunity':
      return one(requireOpportunity());
    case 'updateOpportunity': {
      const current = requireOpportunity();
      const fields = opportunityFields(body);
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
      const { contactId } = body as { contactId: string };
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
      const { companyId } = body as { companyId: string };
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
      const filter = {
        email: queryText(query, 'email'),
        name: queryText(query, 'name'),
        opportunityId: queryText(query, 'opportunityId'),
        companyId: queryText(query, 'companyId'),
      };
      return list((page) => store.listContacts(filter, page), pageOf(query));
    }
    case 'createContact':
      return one(store.createContact(body as Record<string, unknown>), emulatorSemantics.createStatus);
    case 'listCompanies': {
      const filter = { name: queryText(query, 'name') };
      return list((page) => store.listCompanies(filter, page), pageOf(query));
    }
    case 'createCompany':
      return one(store.createCompany(companyFields(body)), emulatorSemantics.createStatus);
  }
}
