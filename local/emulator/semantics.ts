/**
 * Where Salescaling's behaviour is not documented, the emulator picks one reading. Every such choice
 * is here, and nowhere else, so it is easy to find and to correct once the real behaviour is known
 * (run the contract suite against a live account: `npm run test:contract`, see docs/testing.md).
 *
 * The choices lean towards the stricter reading, so that code which works against the emulator also
 * works under the other reading (the client's safe update works whether PUT patches or replaces).
 */
export const emulatorSemantics = {
  /** `PUT /opportunities/{id}` replaces every writable field: a field left out becomes null. */
  putReplacesAllWritableFields: true,
  /** Linking a contact or company that is already linked answers 200 `true` and adds no second link. */
  linkingTwice: 'succeeds-without-duplicate',
  /** `count` is the number of items in `data` (this page), 1 for a single record. */
  countMeans: 'items-in-this-page',
  /** Linking and unlinking do not change the opportunity's `updatedAt`. */
  linkingTouchesUpdatedAt: false,
  /** Creates answer 200, as in the reference's examples. */
  createStatus: 200,
  /** Documented defaults for `page` and `limit`. */
  defaultPage: 1,
  defaultLimit: 10,
  /**
   * No maximum is documented; the emulator answers 400 (naming the parameter) beyond these, so
   * `page × limit` always stays an exact integer (the client asks for at most 1,000 a page).
   */
  maxPage: 1_000_000,
  maxLimit: 10_000,
  /** `name` and `email` filters: case-insensitive substring matches (contact `name` also matches "first last"). */
  textFilters: 'case-insensitive-substring',
  /** Lists are in creation order, oldest first, so pages are stable while records are added. */
  listOrder: 'creation-order',
  /** Invalid bodies and query parameters answer 400 with the offending fields named in `error`. */
  validationStatus: 400,
  /** A malformed id is treated like an unknown one: 404. */
  malformedIdStatus: 404,
  /** Unlinking a contact or company that is not linked answers 404. */
  unlinkMissingStatus: 404,
  /** The first company linked to an opportunity is its primary company (`isPrimary`). */
  primaryCompany: 'first-linked',
  /** The message of every 401, as documented. */
  unauthorizedMessage: 'Unauthorized - missing or invalid API key',
} as const;
