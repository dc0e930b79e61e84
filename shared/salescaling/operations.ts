/**
 * Every Salescaling operation the project uses: name, HTTP method and path template (relative to
 * the `/api/v1/` base). The client builds requests from this table and the local emulator routes by
 * it, so a path is written down exactly once.
 *
 * Opportunities: the twelve operations of `salescaling-opportunities-api.txt` (the issue counts them
 * as eleven; the reference lists list, create, get, update, delete, integrations, and list / link /
 * unlink for both contacts and companies).
 * Contacts: documented in part (list with filters, create).
 * Companies: NOT in the public reference. `listCompanies` and `createCompany` follow the documented
 * conventions of the other resources (`GET /companies?name=&page=&limit=`, `POST /companies`, same
 * envelope). Correct them here if Salescaling publishes the resource.
 */
export const operations = {
  listOpportunities: { method: 'GET', path: '/opportunities' },
  createOpportunity: { method: 'POST', path: '/opportunities' },
  getOpportunity: { method: 'GET', path: '/opportunities/{id}' },
  updateOpportunity: { method: 'PUT', path: '/opportunities/{id}' },
  deleteOpportunity: { method: 'DELETE', path: '/opportunities/{id}' },
  listOpportunityIntegrations: { method: 'GET', path: '/opportunities/{id}/integrations' },
  listOpportunityContacts: { method: 'GET', path: '/opportunities/{id}/contacts' },
  linkOpportunityContact: { method: 'POST', path: '/opportunities/{id}/contacts' },
  unlinkOpportunityContact: { method: 'DELETE', path: '/opportunities/{id}/contacts/{contactId}' },
  listOpportunityCompanies: { method: 'GET', path: '/opportunities/{id}/companies' },
  linkOpportunityCompany: { method: 'POST', path: '/opportunities/{id}/companies' },
  unlinkOpportunityCompany: { method: 'DELETE', path: '/opportunities/{id}/companies/{companyId}' },
  listContacts: { method: 'GET', path: '/contacts' },
  createContact: { method: 'POST', path: '/contacts' },
  listCompanies: { method: 'GET', path: '/companies' },
  createCompany: { method: 'POST', path: '/companies' },
} as const satisfies Record<string, { method: HttpMethod; path: string }>;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type OperationName = keyof typeof operations;
export const operationNames = Object.keys(operations) as OperationName[];

export const DEFAULT_BASE_URL = 'https://api.salescaling.com/api/v1/';

/** Fills `{param}` placeholders, URL-encoding each value. Throws on a missing parameter. */
export function expandPath(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`Missing path parameter "${key}" for ${template}`);
    return encodeURIComponent(value);
  });
}

/**
 * Matches a concrete path (e.g. `/opportunities/abc/contacts`) against the table. Used by the
 * emulator; returns the operation and its decoded path parameters, or undefined.
 */
/** Each operation's path as a pattern, compiled once: the emulator matches every request against them. */
const compiledPaths = operationNames.map((name) => {
  const keys: string[] = [];
  const pattern = operations[name].path.replace(/\{(\w+)\}/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { name, method: operations[name].method as string, keys, regex: new RegExp(`^${pattern}/?$`) };
});

export function matchOperation(
  method: string,
  path: string,
): { name: OperationName; params: Record<string, string> } | undefined {
  for (const { name, method: expected, keys, regex } of compiledPaths) {
    if (expected !== method) continue;
    const match = regex.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    keys.forEach((key, i) => {
      params[key] = decodeURIComponent(match[i + 1] ?? '');
    });
    return { name, params };
  }
  return undefined;
}
