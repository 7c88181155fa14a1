import { validationFailed } from './problem.js';

/**
 * Opaque cursors: base64url of the sort key and id of the last row, so pages
 * stay stable while rows are added.
 */
export interface Cursor {
  /** The sort value of the last row (ISO time or name). */
  k: string;
  id: string;
}

export const encodeCursor = (cursor: Cursor): string =>
  Buffer.from(JSON.stringify(cursor)).toString('base64url');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Longer than any sort key a list issues (names are at most 255 characters). */
const MAX_KEY_LENGTH = 1000;

const forgedToken = () =>
  validationFailed([{ field: 'query.page_token', message: 'is not a token this API issued' }]);

/**
 * The cursor a `page_token` holds, checked as far as it can be here: every
 * row id is a UUID and keys are short strings without control characters
 * (time keys are checked by `pastCursor`). Anything else is a 400 naming
 * `query.page_token`, never a database error.
 */
export function decodeCursor(token: string | undefined): Cursor | undefined {
  if (!token) return undefined;
  let parsed: Partial<Cursor> | null = null;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as Partial<Cursor> | null;
  } catch {
    // refused below
  }
  if (
    parsed &&
    typeof parsed.k === 'string' &&
    typeof parsed.id === 'string' &&
    UUID.test(parsed.id) &&
    parsed.k.length <= MAX_KEY_LENGTH &&
    !CONTROL.test(parsed.k)
  ) {
    return { k: parsed.k, id: parsed.id };
  }
  throw forgedToken();
}

export interface Page<T> {
  results: T[];
  pagination: { next_page_token: string | null; page_size: number } | null;
}

/** Builds a page from `pageSize + 1` fetched rows: the extra row only says there is more. */
export function toPage<Row, Out>(
  rows: Row[],
  pageSize: number,
  cursorOf: (row: Row) => Cursor,
  present: (row: Row) => Out,
): Page<Out> {
  const hasMore = rows.length > pageSize;
  const pageRows = hasMore ? rows.slice(0, pageSize) : rows;
  const last = pageRows.at(-1);
  return {
    results: pageRows.map(present),
    pagination: {
      next_page_token: hasMore && last ? encodeCursor(cursorOf(last)) : null,
      page_size: pageSize,
    },
  };
}

/** The time a cursor of a list sorted by a time column holds (a 400 naming `query.page_token` when it holds none). */
export function cursorTime(cursor: Cursor): Date {
  const time = new Date(cursor.k);
  if (Number.isNaN(time.getTime())) throw forgedToken();
  return time;
}

/**
 * The keyset condition for the page after `cursor`: rows past the cursor's
 * sort value, ties broken by id. `order` is the list's sort direction; time
 * columns pass `asDate` so the cursor's ISO string is compared as a time.
 */
export function pastCursor(
  field: string,
  cursor: Cursor | undefined,
  order: 'asc' | 'desc',
  asDate = false,
): { OR?: Record<string, unknown>[] } {
  if (!cursor) return {};
  const key = asDate ? new Date(cursor.k) : cursor.k;
  if (key instanceof Date && Number.isNaN(key.getTime())) throw forgedToken();
  const op = order === 'asc' ? 'gt' : 'lt';
  return { OR: [{ [field]: { [op]: key } }, { [field]: key, id: { [op]: cursor.id } }] };
}
