import {
  COUNT_MEANS,
  CREATE_STATUS,
  DEFAULT_LIST_LIMIT,
  DEFAULT_OPPORTUNITY_STATUSES,
  DEFAULT_PAGE,
  DELETE_MEANS,
  ERROR_STATUSES,
  LINKS,
  LIST_ORDER,
  MAX_LIST_LIMIT,
  PUT_REPLACES_ALL_WRITABLE_FIELDS,
  TEXT_FILTERS,
} from '#shared/salescaling/assumptions.ts';

/**
 * How the emulator answers where Salescaling's behaviour is not documented. Every choice about
 * Salescaling is read from `shared/salescaling/assumptions.ts`, the module the client and the
 * functions read too, so correcting an assumption there changes both sides (check it against a
 * live account with `npm run test:contract`, see docs/salescaling-assumptions.md). Only `maxPage`
 * and the 401 message are the emulator's own.
 *
 * The assumptions lean towards the stricter reading, so that code which works against the emulator
 * also works under the other reading (the client's safe update works whether PUT patches or replaces).
 */
export const emulatorSemantics = {
  /** `PUT /opportunities/{id}` replaces every writable field: a field left out becomes null. */
  putReplacesAllWritableFields: PUT_REPLACES_ALL_WRITABLE_FIELDS,
  /** Linking what is already linked: 200 `true` and no second link, or 409. */
  linkingTwice: LINKS.linkingTwice,
  /** Linking another contact or company adds a link. */
  anotherLink: LINKS.anotherLink,
  /** `count` is the number of items in `data` (this page, 1 for a record), or the list's total. */
  countMeans: COUNT_MEANS,
  /** Linking and unlinking do not change the opportunity's `updatedAt`. */
  linkingTouchesUpdatedAt: LINKS.touchesUpdatedAt,
  /** The status of creates. */
  createStatus: CREATE_STATUS,
  /** Defaults for `page` and `limit`. */
  defaultPage: DEFAULT_PAGE,
  defaultLimit: DEFAULT_LIST_LIMIT,
  /** Beyond these the emulator answers 400 naming the parameter (so `page × limit` stays exact). */
  maxPage: 1_000_000,
  maxLimit: MAX_LIST_LIMIT,
  /** `name` and `email` filters (contact `name` also matches "first last"). */
  textFilters: TEXT_FILTERS,
  /** Lists in creation order, oldest first (or newest first), stable while records are added. */
  listOrder: LIST_ORDER,
  /** Invalid bodies and query parameters, with the offending fields named in `error`. */
  validationStatus: ERROR_STATUSES.validation,
  /** A malformed id is treated like an unknown one. */
  malformedIdStatus: ERROR_STATUSES.malformedId,
  /** Unlinking a contact or company that is not linked. */
  unlinkMissingStatus: LINKS.unlinkMissingStatus,
  /** The first company linked to an opportunity is its primary company (`isPrimary`). */
  primaryCompany: LINKS.primaryCompany,
  /** The statuses the seed writes (open, won, lost); any non-empty status is accepted on write. */
  statuses: DEFAULT_OPPORTUNITY_STATUSES,
  /** `DELETE /opportunities/{id}` removes it and its links at once: a later GET or DELETE is 404. */
  deleteMeans: DELETE_MEANS,
  /** The message of every 401, as documented. */
  unauthorizedMessage: 'Unauthorized - missing or invalid API key',
} as const;
