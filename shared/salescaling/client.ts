import * as z from 'zod';
import { DEFAULT_LIST_LIMIT, DEFAULT_PAGE } from './assumptions.ts';
import { SalescalingInvalidRequestError, SalescalingUnexpectedResponseError } from './errors.ts';
import type { OperationName } from './operations.ts';
import { DEFAULT_PAGE_SIZE, paginate } from './pagination.ts';
import {
  type Company,
  type CompanyInput,
  type CompanyListQuery,
  type Contact,
  type ContactInput,
  type ContactListQuery,
  companyListQuerySchema,
  companySchema,
  companyWriteSchema,
  contactListQuerySchema,
  contactSchema,
  contactWriteSchema,
  describeFieldIssues,
  type FieldIssue,
  fieldIssues,
  idSchema,
  integrationsSchema,
  linkCompanySchema,
  linkContactSchema,
  type Opportunity,
  type OpportunityChange,
  type OpportunityCompany,
  type OpportunityContact,
  type OpportunityInput,
  type OpportunityIntegrations,
  type OpportunityListQuery,
  opportunityCompanySchema,
  opportunityContactSchema,
  opportunityListQuerySchema,
  opportunitySchema,
  opportunityWritableFields,
  opportunityWriteSchema,
  pageQuerySchema,
} from './schemas.ts';
import { type RequestSpec, SalescalingTransport, type TransportOptions } from './transport.ts';

/** Values the client may write to the enum-like opportunity fields. Unset means any non-empty string. */
export interface AllowedOpportunityValues {
  status?: readonly string[] | undefined;
  risk?: readonly string[] | undefined;
  priority?: readonly string[] | undefined;
}

export interface SalescalingClientOptions extends TransportOptions {
  allowedValues?: AllowedOpportunityValues | undefined;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface IterateOptions extends CallOptions {
  /** Items per request. Default 50. */
  pageSize?: number | undefined;
}

export interface Page<T> {
  items: T[];
  page: number;
  limit: number;
  /** Salescaling's `count` as sent; nothing relies on it (COUNT_MEANS in assumptions.ts). */
  count: number | null | undefined;
}

type ListFilter<Q> = Omit<Q, 'page' | 'limit'>;

const opportunityChangeSchema = opportunityWriteSchema.partial();

/**
 * Typed client for the Salescaling REST API: every opportunity operation of the public reference,
 * contacts (list with filters, create) and companies (list by name, create; an assumed surface, see
 * `operations.ts`).
 *
 * Input is validated before any request (a `SalescalingInvalidRequestError` names each offending
 * field); responses are unwrapped from the envelope and validated leniently. Transport concerns
 * (timeouts, retries, limiter, key refresh) live in `SalescalingTransport`.
 */
export class SalescalingClient {
  readonly #transport: SalescalingTransport;
  readonly #allowed: AllowedOpportunityValues;

  constructor(options: SalescalingClientOptions) {
    this.#transport = new SalescalingTransport(options);
    this.#allowed = options.allowedValues ?? {};
  }

  get baseUrl(): string {
    return this.#transport.baseUrl;
  }

  // -------------------------------------------------------------------------------------------
  // Opportunities

  async listOpportunities(
    query: OpportunityListQuery = {},
    options: CallOptions = {},
  ): Promise<Page<Opportunity>> {
    const q = validate('listOpportunities', opportunityListQuerySchema, query);
    return this.#page('listOpportunities', opportunitySchema, { query: q, signal: options.signal }, q);
  }

  iterateOpportunities(
    filter: ListFilter<OpportunityListQuery> = {},
    options: IterateOptions = {},
  ): AsyncGenerator<Opportunity, void, undefined> {
    return this.#iterate(
      (page, limit) => this.listOpportunities({ ...filter, page, limit }, options),
      options,
    );
  }

  async createOpportunity(input: OpportunityInput, options: CallOptions = {}): Promise<Opportunity> {
    const body = this.#opportunityBody('createOpportunity', input, input);
    const { data } = await this.#transport.request({
      operation: 'createOpportunity',
      body,
      signal: options.signal,
    });
    return read('createOpportunity', opportunitySchema, data);
  }

  async getOpportunity(id: string, options: CallOptions = {}): Promise<Opportunity> {
    const pathParams = { id: validateId('getOpportunity', id) };
    const { data } = await this.#transport.request({
      operation: 'getOpportunity',
      pathParams,
      signal: options.signal,
    });
    return read('getOpportunity', opportunitySchema, data);
  }

  /**
   * Raw `PUT`: sends exactly the writable fields given. Salescaling does not say whether PUT is a
   * partial update or a full replace, so a field left out may be cleared: prefer `updateOpportunity`.
   */
  async putOpportunity(
    id: string,
    fields: OpportunityInput,
    options: CallOptions = {},
  ): Promise<Opportunity> {
    return this.#put(id, fields, fields, options);
  }

  /** `changed` is what the caller changes: only its enum values are checked against the allowlist. */
  async #put(
    id: string,
    fields: OpportunityInput,
    changed: Partial<OpportunityInput>,
    options: CallOptions,
  ): Promise<Opportunity> {
    const pathParams = { id: validateId('updateOpportunity', id) };
    const body = this.#opportunityBody('updateOpportunity', fields, changed);
    const { data } = await this.#transport.request({
      operation: 'updateOpportunity',
      pathParams,
      body,
      signal: options.signal,
    });
    return read('updateOpportunity', opportunitySchema, data);
  }

  /**
   * Safe update: reads the opportunity, merges the change over its writable fields and writes them
   * all, so the result is the same whether `PUT` replaces or patches. Nulls read back are left out
   * (never written); a null in `change` is sent, to clear that field. `change` may be a function of
   * the current record. Only the changed enum values are checked against `allowedValues`: values
   * already in Salescaling are carried over as they are.
   */
  async updateOpportunity(
    id: string,
    change: OpportunityChange | ((current: Opportunity) => OpportunityChange),
    options: CallOptions = {},
  ): Promise<Opportunity> {
    validateId('updateOpportunity', id);
    if (typeof change !== 'function') this.#validateChange(change);
    const current = await this.getOpportunity(id, options);
    const delta = typeof change === 'function' ? change(current) : change;
    if (typeof change === 'function') this.#validateChange(delta);
    const merged: Record<string, unknown> = {};
    for (const field of opportunityWritableFields) {
      const value = current[field];
      if (value !== null && value !== undefined) merged[field] = value;
    }
    Object.assign(merged, delta);
    return this.#put(id, merged as OpportunityInput, delta, options);
  }

  async deleteOpportunity(id: string, options: CallOptions = {}): Promise<void> {
    const pathParams = { id: validateId('deleteOpportunity', id) };
    await this.#transport.request({ operation: 'deleteOpportunity', pathParams, signal: options.signal });
  }

  async listOpportunityIntegrations(id: string, options: CallOptions = {}): Promise<OpportunityIntegrations> {
    const pathParams = { id: validateId('listOpportunityIntegrations', id) };
    const { data } = await this.#transport.request({
      operation: 'listOpportunityIntegrations',
      pathParams,
      signal: options.signal,
    });
    return read('listOpportunityIntegrations', integrationsSchema, data);
  }

  async listOpportunityContacts(
    opportunityId: string,
    query: { page?: number; limit?: number } = {},
    options: CallOptions = {},
  ): Promise<Page<OpportunityContact>> {
    const pathParams = { id: validateId('listOpportunityContacts', opportunityId) };
    const q = validate('listOpportunityContacts', pageQuerySchema, query);
    return this.#page(
      'listOpportunityContacts',
      opportunityContactSchema,
      { pathParams, query: q, signal: options.signal },
      q,
    );
  }

  iterateOpportunityContacts(
    opportunityId: string,
    options: IterateOptions = {},
  ): AsyncGenerator<OpportunityContact, void, undefined> {
    return this.#iterate(
      (page, limit) => this.listOpportunityContacts(opportunityId, { page, limit }, options),
      options,
    );
  }

  async linkContact(opportunityId: string, contactId: string, options: CallOptions = {}): Promise<void> {
    const pathParams = { id: validateId('linkOpportunityContact', opportunityId) };
    const body = validate('linkOpportunityContact', linkContactSchema, { contactId });
    await this.#transport.request({
      operation: 'linkOpportunityContact',
      pathParams,
      body,
      signal: options.signal,
    });
  }

  async unlinkContact(opportunityId: string, contactId: string, options: CallOptions = {}): Promise<void> {
    const pathParams = {
      id: validateId('unlinkOpportunityContact', opportunityId),
      contactId: validateId('unlinkOpportunityContact', contactId, 'contactId'),
    };
    await this.#transport.request({
      operation: 'unlinkOpportunityContact',
      pathParams,
      signal: options.signal,
    });
  }

  async listOpportunityCompanies(
    opportunityId: string,
    query: { page?: number; limit?: number } = {},
    options: CallOptions = {},
  ): Promise<Page<OpportunityCompany>> {
    const pathParams = { id: validateId('listOpportunityCompanies', opportunityId) };
    const q = validate('listOpportunityCompanies', pageQuerySchema, query);
    return this.#page(
      'listOpportunityCompanies',
      opportunityCompanySchema,
      { pathParams, query: q, signal: options.signal },
      q,
    );
  }

  iterateOpportunityCompanies(
    opportunityId: string,
    options: IterateOptions = {},
  ): AsyncGenerator<OpportunityCompany, void, undefined> {
    return this.#iterate(
      (page, limit) => this.listOpportunityCompanies(opportunityId, { page, limit }, options),
      options,
    );
  }

  async linkCompany(opportunityId: string, companyId: string, options: CallOptions = {}): Promise<void> {
    const pathParams = { id: validateId('linkOpportunityCompany', opportunityId) };
    const body = validate('linkOpportunityCompany', linkCompanySchema, { companyId });
    await this.#transport.request({
      operation: 'linkOpportunityCompany',
      pathParams,
      body,
      signal: options.signal,
    });
  }

  async unlinkCompany(opportunityId: string, companyId: string, options: CallOptions = {}): Promise<void> {
    const pathParams = {
      id: validateId('unlinkOpportunityCompany', opportunityId),
      companyId: validateId('unlinkOpportunityCompany', companyId, 'companyId'),
    };
    await this.#transport.request({
      operation: 'unlinkOpportunityCompany',
      pathParams,
      signal: options.signal,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Contacts

  async listContacts(query: ContactListQuery = {}, options: CallOptions = {}): Promise<Page<Contact>> {
    const q = validate('listContacts', contactListQuerySchema, query);
    return this.#page('listContacts', contactSchema, { query: q, signal: options.signal }, q);
  }

  iterateContacts(
    filter: ListFilter<ContactListQuery> = {},
    options: IterateOptions = {},
  ): AsyncGenerator<Contact, void, undefined> {
    return this.#iterate((page, limit) => this.listContacts({ ...filter, page, limit }, options), options);
  }

  /**
   * Salescaling's `email` filter is a partial match and there is no exact lookup: filter, then
   * compare exactly (trimmed, case-insensitive). Returns the first match in Salescaling's order.
   */
  async findContactByEmail(email: string, options: CallOptions = {}): Promise<Contact | undefined> {
    const wanted = validate('listContacts', z.object({ email: z.email() }), { email: email.trim() }).email;
    for await (const contact of this.iterateContacts({ email: wanted }, options)) {
      if (contact.email?.trim().toLowerCase() === wanted.toLowerCase()) return contact;
    }
    return undefined;
  }

  async createContact(input: ContactInput, options: CallOptions = {}): Promise<Contact> {
    const body = validate('createContact', contactWriteSchema, input);
    const { data } = await this.#transport.request({
      operation: 'createContact',
      body,
      signal: options.signal,
    });
    return read('createContact', contactSchema, data);
  }

  // -------------------------------------------------------------------------------------------
  // Companies (assumed surface)

  async listCompanies(query: CompanyListQuery = {}, options: CallOptions = {}): Promise<Page<Company>> {
    const q = validate('listCompanies', companyListQuerySchema, query);
    return this.#page('listCompanies', companySchema, { query: q, signal: options.signal }, q);
  }

  iterateCompanies(
    filter: ListFilter<CompanyListQuery> = {},
    options: IterateOptions = {},
  ): AsyncGenerator<Company, void, undefined> {
    return this.#iterate((page, limit) => this.listCompanies({ ...filter, page, limit }, options), options);
  }

  /** Exact (trimmed, case-insensitive) name match over the partial-match `name` filter. */
  async findCompanyByName(name: string, options: CallOptions = {}): Promise<Company | undefined> {
    const wanted = validate('listCompanies', z.object({ name: z.string().trim().min(1) }), { name }).name;
    for await (const company of this.iterateCompanies({ name: wanted }, options)) {
      if (company.name?.trim().toLowerCase() === wanted.toLowerCase()) return company;
    }
    return undefined;
  }

  async createCompany(input: CompanyInput, options: CallOptions = {}): Promise<Company> {
    const body = validate('createCompany', companyWriteSchema, input);
    const { data } = await this.#transport.request({
      operation: 'createCompany',
      body,
      signal: options.signal,
    });
    return read('createCompany', companySchema, data);
  }

  // -------------------------------------------------------------------------------------------

  async #page<S extends z.ZodType>(
    operation: OperationName,
    schema: S,
    spec: Omit<RequestSpec, 'operation'>,
    query: { page?: number | undefined; limit?: number | undefined },
  ): Promise<Page<z.output<S>>> {
    const { data, count } = await this.#transport.request({ operation, ...spec });
    return {
      items: read(operation, z.array(schema), data),
      page: query.page ?? DEFAULT_PAGE,
      limit: query.limit ?? DEFAULT_LIST_LIMIT,
      count,
    };
  }

  #iterate<T>(
    fetchPage: (page: number, limit: number) => Promise<Page<T>>,
    options: IterateOptions,
  ): AsyncGenerator<T, void, undefined> {
    return paginate(async (page, limit) => (await fetchPage(page, limit)).items, {
      pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
    });
  }

  /** Validates an opportunity body and checks the enum-like values in `changed` against the allowlist. */
  #opportunityBody(operation: OperationName, input: unknown, changed: Partial<OpportunityInput>): unknown {
    const body = validate(operation, opportunityWriteSchema, input);
    this.#checkAllowed(operation, changed);
    return body;
  }

  #validateChange(change: OpportunityChange): void {
    validate('updateOpportunity', opportunityChangeSchema, change);
    this.#checkAllowed('updateOpportunity', change);
  }

  #checkAllowed(operation: OperationName, values: Partial<OpportunityInput>): void {
    const issues: FieldIssue[] = [];
    for (const field of ['status', 'risk', 'priority'] as const) {
      const allowed = this.#allowed[field];
      const value = values[field];
      if (allowed && typeof value === 'string' && !allowed.includes(value)) {
        issues.push({ field, message: `must be one of ${allowed.map((v) => `"${v}"`).join(', ')}` });
      }
    }
    if (issues.length > 0) throw invalidInput(operation, issues);
  }
}

function invalidInput(operation: OperationName, issues: FieldIssue[]): SalescalingInvalidRequestError {
  return new SalescalingInvalidRequestError(
    `Salescaling ${operation}: invalid input, nothing was sent (${describeFieldIssues(issues)})`,
    { operation, fields: issues },
  );
}

function validate<S extends z.ZodType>(operation: OperationName, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw invalidInput(operation, fieldIssues(result.error));
  return result.data;
}

function validateId(operation: OperationName, id: string, field = 'id'): string {
  return validate(operation, z.object({ [field]: idSchema }), { [field]: id })[field] as string;
}

function read<S extends z.ZodType>(operation: OperationName, schema: S, data: unknown): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new SalescalingUnexpectedResponseError(
      `Salescaling ${operation} returned data of an unexpected shape (${describeFieldIssues(fieldIssues(result.error))})`,
      { operation },
    );
  }
  return result.data;
}
