/**
 * Walks every page of a Salescaling list. Salescaling returns no total, so a page shorter than
 * `pageSize` is the last one. `maxPages` guards against an API that ignores `limit` and never
 * returns a short page.
 */
export interface PaginateOptions {
  pageSize: number;
  startPage?: number;
  maxPages?: number;
}

export const DEFAULT_PAGE_SIZE = 50;
const DEFAULT_MAX_PAGES = 10_000;

export async function* paginate<T>(
  fetchPage: (page: number, limit: number) => Promise<readonly T[]>,
  options: PaginateOptions,
): AsyncGenerator<T, void, undefined> {
  const { pageSize } = options;
  const startPage = options.startPage ?? 1;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new Error(`pageSize must be a positive integer (got ${pageSize})`);
  for (let page = startPage; page < startPage + maxPages; page++) {
    const items = await fetchPage(page, pageSize);
    yield* items;
    if (items.length < pageSize) return;
  }
  throw new Error(
    `Stopped after ${maxPages} pages without reaching a short page; is the limit being ignored?`,
  );
}
