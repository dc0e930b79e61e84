import { clip } from './recorder.ts';

/**
 * The opportunity at the end of a journey, with its linked contacts and companies, read from the
 * configured Salescaling (the emulator, or a real API) through its public API with the runtime's key.
 * The key is sent in the request header only: it is never part of what this returns.
 */
export interface OpportunityView {
  id: string;
  found: boolean;
  status: number;
  opportunity?: Record<string, unknown> | undefined;
  contacts: Record<string, unknown>[];
  companies: Record<string, unknown>[];
  error?: string | undefined;
}

export type OpportunityReader = (id: string) => Promise<OpportunityView>;

const READ_TIMEOUT_MS = 5000;
/** The fields shown of each record (what a person checks), so a large record stays small here. */
const SHOWN = [
  'id',
  'name',
  'status',
  'amount',
  'email',
  'firstName',
  'lastName',
  'domain',
  'closeDate',
  'isPrimary',
];

export function opportunityReader(baseUrl: string, apiKey: string): OpportunityReader {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const get = async (path: string) => {
    const response = await fetch(new URL(path, base), {
      headers: { 'x-api-key': apiKey, accept: 'application/json' },
      signal: AbortSignal.timeout(READ_TIMEOUT_MS),
    });
    const body = (await response.json().catch(() => ({}))) as { data?: unknown; error?: unknown };
    return { status: response.status, data: body.data, error: body.error };
  };
  return async (id) => {
    const encoded = encodeURIComponent(id);
    try {
      const opportunity = await get(`opportunities/${encoded}`);
      if (opportunity.status !== 200 || typeof opportunity.data !== 'object' || opportunity.data === null) {
        return {
          id,
          found: false,
          status: opportunity.status,
          contacts: [],
          companies: [],
          error: clip(String(opportunity.error ?? `HTTP ${opportunity.status}`), 300),
        };
      }
      const [contacts, companies] = await Promise.all([
        get(`opportunities/${encoded}/contacts?limit=50`),
        get(`opportunities/${encoded}/companies?limit=50`),
      ]);
      return {
        id,
        found: true,
        status: 200,
        opportunity: pick(opportunity.data),
        // The link lists name their fields contactId, contactEmail…, companyId, companyName… (the API's).
        contacts: listOf(contacts.data).map((c) => pick(unprefix(c, 'contact'))),
        companies: listOf(companies.data).map((c) => pick(unprefix(c, 'company'))),
      };
    } catch (error) {
      return { id, found: false, status: 0, contacts: [], companies: [], error: (error as Error).name };
    }
  };
}

function unprefix(value: unknown, prefix: string): Record<string, unknown> {
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const plain: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) {
    const rest = key.startsWith(prefix) ? key.slice(prefix.length) : '';
    plain[rest ? `${rest[0]?.toLowerCase()}${rest.slice(1)}` : key] = field;
  }
  return plain;
}

function listOf(data: unknown): unknown[] {
  return Array.isArray(data) ? data.slice(0, 50) : [];
}

function pick(value: unknown): Record<string, unknown> {
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const shown: Record<string, unknown> = {};
  for (const key of SHOWN) {
    const field = record[key];
    if (field !== undefined && field !== null)
      shown[key] = typeof field === 'string' ? clip(field, 300) : field;
  }
  return shown;
}
