import { randomUUID } from 'node:crypto';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import {
  contactWritableFields,
  type OpportunityWrite,
  opportunityWritableFields,
} from '#shared/salescaling/schemas.ts';
import { emulatorSemantics } from './semantics.ts';

/**
 * The fields a record holds. The client's lists, not the document's: reading the document costs
 * start-up time the seed would pay (docs/emulator.md, "Start-up"). Nothing is validated with them:
 * if a list lacked a field the document requires, every answer would break the document and the
 * emulator would answer 500 (and a test in test/unit/salescaling/openapi-document.test.ts compares them).
 */
const companyWritableFields = ['name', 'domain'] as const;

/**
 * The emulator's state, in Node's built-in SQLite: in memory by default, in a file when given one
 * (then it survives a restart). Records are kept as JSON with the columns that lists filter on.
 */
export type StoredRecord = Record<string, unknown> & { id: string; createdAt: string; updatedAt: string };

export interface PageRequest {
  page: number;
  limit: number;
}

export interface Integration {
  integrationType: string;
  integrationName: string;
  integrationId: string;
}

export interface StoreOptions {
  /** SQLite file; `:memory:` (the default) keeps nothing after close. */
  file?: string | undefined;
  now?: (() => Date) | undefined;
}

export interface CreateOptions {
  id?: string | undefined;
  createdAt?: string | undefined;
  updatedAt?: string | undefined;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS opportunities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT, data TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS contacts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, email TEXT, first_name TEXT,
    last_name TEXT, company_id TEXT, data TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS contacts_company ON contacts (company_id);
  CREATE TABLE IF NOT EXISTS companies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT, data TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS opportunity_contacts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, opportunity_id TEXT NOT NULL, contact_id TEXT NOT NULL,
    UNIQUE (opportunity_id, contact_id));
  CREATE INDEX IF NOT EXISTS opportunity_contacts_contact ON opportunity_contacts (contact_id);
  CREATE TABLE IF NOT EXISTS opportunity_companies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, opportunity_id TEXT NOT NULL, company_id TEXT NOT NULL,
    UNIQUE (opportunity_id, company_id));
  CREATE TABLE IF NOT EXISTS integrations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, opportunity_id TEXT NOT NULL, data TEXT NOT NULL);
`;

export class EmulatorStore {
  readonly file: string;
  #db: DatabaseSync;
  #now: () => Date;

  constructor(options: StoreOptions = {}) {
    this.file = options.file ?? ':memory:';
    this.#now = options.now ?? (() => new Date());
    this.#db = new DatabaseSync(this.file);
    if (this.file !== ':memory:') this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec(SCHEMA);
    // JavaScript's case folding for text filters: SQLite's LIKE folds ASCII only.
    this.#db.function('contains_ci', { deterministic: true }, (haystack, needle) =>
      typeof haystack === 'string' &&
      typeof needle === 'string' &&
      haystack.toLowerCase().includes(needle.toLowerCase())
        ? 1
        : 0,
    );
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  reset(): void {
    this.transaction(() => {
      for (const table of [
        'opportunities',
        'contacts',
        'companies',
        'opportunity_contacts',
        'opportunity_companies',
        'integrations',
      ]) {
        this.#db.exec(`DELETE FROM ${table}`);
      }
    });
  }

  stats(): Record<'opportunities' | 'contacts' | 'companies' | 'contactLinks' | 'companyLinks', number> {
    const count = (table: string) =>
      Number((this.#db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    return {
      opportunities: count('opportunities'),
      contacts: count('contacts'),
      companies: count('companies'),
      contactLinks: count('opportunity_contacts'),
      companyLinks: count('opportunity_companies'),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Opportunities

  listOpportunities(
    filter: { name?: string | undefined; contactId?: string | undefined },
    page: PageRequest,
  ) {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.name !== undefined) {
      where.push('contains_ci(o.name, ?)');
      params.push(filter.name);
    }
    if (filter.contactId !== undefined) {
      where.push(
        'EXISTS (SELECT 1 FROM opportunity_contacts l WHERE l.opportunity_id = o.id AND l.contact_id = ?)',
      );
      params.push(filter.contactId);
    }
    return this.#page('SELECT o.data FROM opportunities o', where, 'o.seq', params, page);
  }

  getOpportunity(id: string): StoredRecord | undefined {
    return this.#one('SELECT data FROM opportunities WHERE id = ?', id);
  }

  createOpportunity(fields: Partial<OpportunityWrite>, options: CreateOptions = {}): StoredRecord {
    const record = this.#newRecord(opportunityWritableFields, fields, options);
    this.#db
      .prepare('INSERT INTO opportunities (id, name, data) VALUES (?, ?, ?)')
      .run(record.id, (record.name as string | null) ?? null, JSON.stringify(record));
    return record;
  }

  /** Full replace of the writable fields (PUT_REPLACES_ALL_WRITABLE_FIELDS in shared/salescaling/assumptions.ts). */
  replaceOpportunity(id: string, fields: Partial<OpportunityWrite>): StoredRecord | undefined {
    const current = this.getOpportunity(id);
    if (!current) return undefined;
    const record: StoredRecord = {
      ...this.#newRecord(opportunityWritableFields, fields, { id }),
      createdAt: current.createdAt,
      updatedAt: this.#later(current.updatedAt),
    };
    this.#db
      .prepare('UPDATE opportunities SET name = ?, data = ? WHERE id = ?')
      .run((record.name as string | null) ?? null, JSON.stringify(record), id);
    return record;
  }

  /** Deletes the opportunity with its links and integrations. */
  deleteOpportunity(id: string): boolean {
    return this.transaction(() => {
      const { changes } = this.#db.prepare('DELETE FROM opportunities WHERE id = ?').run(id);
      this.#db.prepare('DELETE FROM opportunity_contacts WHERE opportunity_id = ?').run(id);
      this.#db.prepare('DELETE FROM opportunity_companies WHERE opportunity_id = ?').run(id);
      this.#db.prepare('DELETE FROM integrations WHERE opportunity_id = ?').run(id);
      return Number(changes) > 0;
    });
  }

  integrations(opportunityId: string): Integration[] {
    return this.#db
      .prepare('SELECT data FROM integrations WHERE opportunity_id = ? ORDER BY seq')
      .all(opportunityId)
      .map((row) => JSON.parse(String((row as { data: string }).data)) as Integration);
  }

  addIntegration(opportunityId: string, integration: Integration): void {
    this.#db
      .prepare('INSERT INTO integrations (opportunity_id, data) VALUES (?, ?)')
      .run(opportunityId, JSON.stringify(integration));
  }

  // -------------------------------------------------------------------------------------------
  // Links

  listOpportunityContacts(opportunityId: string, page: PageRequest): Record<string, unknown>[] {
    return this.#page(
      'SELECT c.data FROM opportunity_contacts l JOIN contacts c ON c.id = l.contact_id',
      ['l.opportunity_id = ?'],
      'l.seq',
      [opportunityId],
      page,
    ).map((contact) => ({
      contactId: contact.id,
      contactFirstName: contact.firstName ?? null,
      contactLastName: contact.lastName ?? null,
      contactEmail: contact.email ?? null,
      contactTitlePosition: contact.titlePosition ?? null,
    }));
  }

  listOpportunityCompanies(opportunityId: string, page: PageRequest): Record<string, unknown>[] {
    const first = this.#db
      .prepare('SELECT company_id FROM opportunity_companies WHERE opportunity_id = ? ORDER BY seq LIMIT 1')
      .get(opportunityId) as { company_id: string } | undefined;
    return this.#page(
      'SELECT c.data FROM opportunity_companies l JOIN companies c ON c.id = l.company_id',
      ['l.opportunity_id = ?'],
      'l.seq',
      [opportunityId],
      page,
    ).map((company) => ({
      companyId: company.id,
      companyName: company.name ?? null,
      companyDomain: company.domain ?? null,
      isPrimary: company.id === first?.company_id,
    }));
  }

  /** Returns false when the link already existed (LINKS in shared/salescaling/assumptions.ts). */
  linkContact(opportunityId: string, contactId: string): boolean {
    const { changes } = this.#db
      .prepare('INSERT OR IGNORE INTO opportunity_contacts (opportunity_id, contact_id) VALUES (?, ?)')
      .run(opportunityId, contactId);
    return Number(changes) > 0;
  }

  unlinkContact(opportunityId: string, contactId: string): boolean {
    const { changes } = this.#db
      .prepare('DELETE FROM opportunity_contacts WHERE opportunity_id = ? AND contact_id = ?')
      .run(opportunityId, contactId);
    return Number(changes) > 0;
  }

  linkCompany(opportunityId: string, companyId: string): boolean {
    const { changes } = this.#db
      .prepare('INSERT OR IGNORE INTO opportunity_companies (opportunity_id, company_id) VALUES (?, ?)')
      .run(opportunityId, companyId);
    return Number(changes) > 0;
  }

  unlinkCompany(opportunityId: string, companyId: string): boolean {
    const { changes } = this.#db
      .prepare('DELETE FROM opportunity_companies WHERE opportunity_id = ? AND company_id = ?')
      .run(opportunityId, companyId);
    return Number(changes) > 0;
  }

  // -------------------------------------------------------------------------------------------
  // Contacts

  listContacts(
    filter: {
      email?: string | undefined;
      name?: string | undefined;
      opportunityId?: string | undefined;
      companyId?: string | undefined;
    },
    page: PageRequest,
  ) {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.email !== undefined) {
      where.push('contains_ci(c.email, ?)');
      params.push(filter.email);
    }
    if (filter.name !== undefined) {
      where.push(
        "(contains_ci(c.first_name, ?) OR contains_ci(c.last_name, ?) OR contains_ci(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, ''), ?))",
      );
      params.push(filter.name, filter.name, filter.name);
    }
    if (filter.opportunityId !== undefined) {
      where.push(
        'EXISTS (SELECT 1 FROM opportunity_contacts l WHERE l.contact_id = c.id AND l.opportunity_id = ?)',
      );
      params.push(filter.opportunityId);
    }
    if (filter.companyId !== undefined) {
      where.push('c.company_id = ?');
      params.push(filter.companyId);
    }
    return this.#page('SELECT c.data FROM contacts c', where, 'c.seq', params, page);
  }

  getContact(id: string): StoredRecord | undefined {
    return this.#one('SELECT data FROM contacts WHERE id = ?', id);
  }

  /**
   * `companyId` is the emulator's own association of a contact with a company (what the
   * `companyId` filter reads). The public contact fields do not include it, so the API cannot set
   * it; seeding and tests can.
   */
  createContact(
    fields: Record<string, unknown>,
    options: CreateOptions & { companyId?: string } = {},
  ): StoredRecord {
    const record = this.#newRecord(contactWritableFields, fields, options);
    this.#db
      .prepare(
        'INSERT INTO contacts (id, email, first_name, last_name, company_id, data) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.id,
        (record.email as string | null) ?? null,
        (record.firstName as string | null) ?? null,
        (record.lastName as string | null) ?? null,
        options.companyId ?? null,
        JSON.stringify(record),
      );
    return record;
  }

  // -------------------------------------------------------------------------------------------
  // Companies

  listCompanies(filter: { name?: string | undefined }, page: PageRequest) {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.name !== undefined) {
      where.push('contains_ci(c.name, ?)');
      params.push(filter.name);
    }
    return this.#page('SELECT c.data FROM companies c', where, 'c.seq', params, page);
  }

  getCompany(id: string): StoredRecord | undefined {
    return this.#one('SELECT data FROM companies WHERE id = ?', id);
  }

  createCompany(fields: Record<string, unknown>, options: CreateOptions = {}): StoredRecord {
    const record = this.#newRecord(companyWritableFields, fields, options);
    this.#db
      .prepare('INSERT INTO companies (id, name, data) VALUES (?, ?, ?)')
      .run(record.id, (record.name as string | null) ?? null, JSON.stringify(record));
    return record;
  }

  // -------------------------------------------------------------------------------------------

  /** Builds a record holding every writable field (null when not given), as Salescaling returns them. */
  #newRecord(
    fieldNames: readonly string[],
    fields: Record<string, unknown>,
    options: CreateOptions,
  ): StoredRecord {
    const now = this.#now().toISOString();
    const record: Record<string, unknown> = { id: options.id ?? randomUUID() };
    for (const field of fieldNames) record[field] = fields[field] ?? null;
    record.createdAt = options.createdAt ?? now;
    record.updatedAt = options.updatedAt ?? options.createdAt ?? now;
    return record as StoredRecord;
  }

  /** `updatedAt` after an update: now, but never earlier than (or equal to) the previous value. */
  #later(previous: string): string {
    const now = this.#now().getTime();
    const before = Date.parse(previous);
    return new Date(Number.isNaN(before) || now > before ? now : before + 1).toISOString();
  }

  #one(sql: string, id: string): StoredRecord | undefined {
    const row = this.#db.prepare(sql).get(id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as StoredRecord) : undefined;
  }

  #page(
    select: string,
    where: string[],
    orderBy: string,
    params: SQLInputValue[],
    page: PageRequest,
  ): StoredRecord[] {
    const direction = emulatorSemantics.listOrder === 'newest-first' ? 'DESC' : 'ASC';
    const sql = `${select}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${orderBy} ${direction} LIMIT ? OFFSET ?`;
    return this.#db
      .prepare(sql)
      .all(...params, page.limit, (page.page - 1) * page.limit)
      .map((row) => JSON.parse(String((row as { data: string }).data)) as StoredRecord);
  }

  /** Runs `work` in one SQLite transaction (seeding thousands of rows stays fast). */
  transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN');
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }
}
