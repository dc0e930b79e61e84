import * as z from 'zod';
import { jsonEnv } from '#shared/config/json-env.ts';

/**
 * Every assumption the project makes about Salescaling behaviour its public reference does not
 * document, in one place. "Q<n>" cites the open question of that number in the reference
 * (`salescaling-api.md`, "Open questions"); each entry says what breaks if the assumption is wrong.
 * The client, the functions, the stack and the emulator read these values from here (a test fails
 * when one reappears as a literal elsewhere), so correcting one changes both sides at once.
 * docs/salescaling-assumptions.md tabulates them, with how `npm run test:contract` checks each
 * against a live account where it can.
 */

/**
 * Q2: the reference shows only `"status": "open"`; which values mean won or lost is not published.
 * Defaults only: a stage sets its account's names in `salescaling.opportunityStatuses` (locally
 * OPPORTUNITY_STATUSES), and functions receive them as OPPORTUNITY_STATUSES.
 * If wrong: the sweep and Close Opportunity write a status Salescaling refuses (400, a rejected
 * command, a sweep error per deal) or one the team does not read as closed; the sweep would treat
 * no deal as open and close nothing; lead sync would create deals in an unexpected stage.
 */
export const DEFAULT_OPPORTUNITY_STATUSES = { open: 'open', won: 'won', lost: 'lost' } as const;

export const opportunityStatusesSchema = z
  .object({
    /** A deal in progress: what new opportunities get, and the only status the sweep closes. */
    open: z.string().trim().min(1).max(100).default(DEFAULT_OPPORTUNITY_STATUSES.open),
    /** Written by Close Opportunity with outcome "won". */
    won: z.string().trim().min(1).max(100).default(DEFAULT_OPPORTUNITY_STATUSES.won),
    /** Written by Close Opportunity with outcome "lost", and by the stale sweep. */
    lost: z.string().trim().min(1).max(100).default(DEFAULT_OPPORTUNITY_STATUSES.lost),
  })
  .strict()
  .refine((s) => new Set([s.open, s.won, s.lost]).size === 3, {
    error: 'open, won and lost must be three different statuses',
  });
export type OpportunityStatuses = z.output<typeof opportunityStatusesSchema>;

/**
 * OPPORTUNITY_STATUSES as every function reads it (the one place): the stage's JSON, every status
 * it leaves out (or the whole variable, when unset) taken from the defaults above.
 */
export const opportunityStatusesEnv = jsonEnv(opportunityStatusesSchema).prefault('{}');

/** A status that closes a deal, by the outcome of our own commands (`won` | `lost`). */
export function closedStatus(statuses: OpportunityStatuses, outcome: 'won' | 'lost'): string {
  return outcome === 'won' ? statuses.won : statuses.lost;
}

/**
 * Documented as "Actual close date" (the reference's field description), but nothing says who sets
 * it. Assumed: the product writes it only when it closes a deal (the stale sweep and Close
 * Opportunity set it to the time of closing); a target date from a form never goes there (it goes
 * into the description, see shared/leads/field-mapping.ts). A date a person set on an open deal is
 * read as the date they expected to close it (the sweep's overdue rule).
 * If wrong (Salescaling sets it itself on close): our value is overwritten by theirs, harmlessly.
 */
export const CLOSE_DATE_MEANS = 'actual-close-date' as const;

/**
 * Not in the open questions: the reference says nothing about list order. Assumed: oldest first
 * (creation order), stable while records are added or updated.
 * If wrong (e.g. most recently updated first): the sweep's page walk sees deals move between pages
 * as it closes them (closing updates them), so some are skipped until the next day's run; the
 * emulator would hide it, as it orders the same way.
 */
export const LIST_ORDER: 'oldest-first' | 'newest-first' = 'oldest-first';

/**
 * Documented: lists take `page` and `limit`, "no maximum limit". Assumed: any `limit` up to this is
 * honoured (a page holds `limit` items until the last); the client never asks for more, and the
 * emulator answers 400 beyond it.
 * If wrong (a lower silent cap): every walk that stops at a short page stops early, so the sweep
 * misses deals and a link check misses links. The contract suite checks that a small limit is
 * honoured; a cap this high cannot be checked cheaply.
 */
export const MAX_LIST_LIMIT = 1000;

/** Documented for one resource (contacts): page 1, limit 10. Assumed for every list. */
export const DEFAULT_PAGE = 1;
export const DEFAULT_LIST_LIMIT = 10;

/**
 * Q6: whether the envelope's `count` is the page size or the total. Assumed: the number of items in
 * this page (1 for a single record). Nothing in the product relies on it (walks stop at a short page,
 * and `Page.count` is passed through as sent), so if wrong nothing breaks.
 */
export const COUNT_MEANS: 'items-in-this-page' | 'total' = 'items-in-this-page';

/**
 * Q3: whether PUT patches or replaces. Assumed the stricter: a full replace (a field left out is
 * cleared). The client's safe update reads, merges and writes every writable field, so it is right
 * under either reading; the emulator replaces, so code that forgets a field fails locally.
 * If wrong: nothing breaks (that is why the client merges).
 */
export const PUT_REPLACES_ALL_WRITABLE_FIELDS = true;

/**
 * Q4: the success code of creates (200 in the examples, 201 documented elsewhere). The client
 * accepts any 2xx; the emulator answers this one. If wrong: nothing breaks.
 */
export const CREATE_STATUS = 200;

/**
 * Q5: whether linking twice is an error, and whether a link replaces the previous one. Assumed:
 * linking an already-linked contact or company answers 2xx and adds nothing; linking another one adds
 * a link (never replaces); the first company linked is the primary one (`isPrimary`); unlinking what
 * is not linked answers 404. The upsert and the link commands list the links before linking, so they
 * never rely on linking twice.
 * If wrong (linking twice is a 409): a race between two deliveries of one lead fails the second one,
 * which is retried and then finds the link. If a link replaced: a second company would unlink the
 * first (our upsert links at most one company per opportunity).
 */
export const LINKS = {
  linkingTwice: 'succeeds-without-duplicate' as 'succeeds-without-duplicate' | 'conflict',
  anotherLink: 'adds' as const,
  primaryCompany: 'first-linked' as const,
  unlinkMissingStatus: 404,
  /** Linking and unlinking leave the opportunity's `updatedAt` as it is (the sweep's "changed since read" check reads it). */
  touchesUpdatedAt: false,
};

/**
 * Documented: `name` and `email` filters are partial matches. Assumed: case-insensitive substrings.
 * The client compares exactly (trimmed, case-insensitive) after filtering, so if the filter is case
 * sensitive, a lookup misses a differently-cased record and the upsert may create a duplicate contact
 * or company (the contract suite checks case-insensitivity).
 */
export const TEXT_FILTERS = 'case-insensitive-substring' as const;

/**
 * Q5: error statuses. Assumed: invalid input 400 (the client also reads 409/422 as a refusal), an
 * unknown id 404, a malformed id treated as unknown (404). If wrong: a refusal read as a transient
 * failure is retried until dead-lettered, instead of at once.
 */
export const ERROR_STATUSES = { validation: 400, notFound: 404, malformedId: 404 } as const;

/**
 * Q1: rate limits are not published. Assumed: a 429 may carry `Retry-After` (seconds or an HTTP
 * date), honoured up to the client's cap; without it, exponential backoff with full jitter. The
 * request budget is a stage setting (`salescaling.maxRequestsPerSecond`, default 5).
 * If wrong: more 429s (an alarm counts them), never lost work.
 */
export const RATE_LIMIT = { honoursRetryAfter: true, defaultRequestsPerSecond: 5 } as const;

/**
 * Companies are not in the public reference: their paths (`GET /companies?name=`, `POST /companies`)
 * follow the documented resources, in `operations.ts`, the one place to correct them.
 */
export const COMPANIES_SURFACE = 'assumed-like-contacts' as const;

/**
 * Documented: `DELETE /opportunities/{id}` deletes the opportunity (200, `true`). Assumed: at once and
 * for good, with its links: a later GET or DELETE of the id answers 404 (`ERROR_STATUSES.notFound`) and
 * no list returns it. Delete Opportunity reads that 404 as "already gone" (success, no change), so a
 * redelivered delete deletes nothing twice and announces `Opportunity Deleted` once.
 * If wrong (a soft delete, still readable): a delete delivered again after its first attempt's answer
 * was lost deletes again and announces twice; a name search could meet deleted deals.
 */
export const DELETE_MEANS = 'gone-at-once' as const;
