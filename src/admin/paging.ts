/**
 * Paging in a stable order. Each listed item has a unique string key (a client id, a topic,
 * a client id and filter); a page is the `limit` smallest keys after the cursor, and the
 * cursor is the last key of the previous page. Items added or removed between pages move
 * nothing else: every item present throughout is listed exactly once.
 *
 * A page costs one pass over the collection with a heap of `limit` entries (no sort of the
 * whole collection): O(n log limit) per page.
 */
import { InvalidRequestError } from './errors.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Page, type PageRequest } from './types.js';

/** The page size a request asks for, checked. */
export function pageLimit(request: PageRequest): number {
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidRequestError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return limit;
}

/** Starts every cursor: never empty (even after an empty key), and a version to change it by. */
const CURSOR_VERSION = '1';

/** The cursor that continues after `key` (base64url, so that it fits in a URL as it is). */
export function encodeCursor(key: string): string {
  return CURSOR_VERSION + Buffer.from(key, 'utf8').toString('base64url');
}

/** The key a cursor continues after; undefined for none (an absent or empty cursor). */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const key = Buffer.from(cursor.slice(CURSOR_VERSION.length), 'base64url').toString('utf8');
  if (encodeCursor(key) !== cursor) throw new InvalidRequestError('not a cursor of this API');
  return key;
}

/**
 * The page of `items` (whose keys are unique) after the request's cursor, in key order,
 * converted with `view`. Keys compare as strings (UTF-16 code units).
 */
export function pageOf<T, R>(
  items: Iterable<T>,
  keyOf: (item: T) => string,
  view: (item: T) => R,
  request: PageRequest,
): Page<R> {
  const limit = pageLimit(request);
  const after = decodeCursor(request.cursor);
  const heap = new LargestOnTop<T>();
  let remaining = 0;
  for (const item of items) {
    const key = keyOf(item);
    if (after !== undefined && key <= after) continue;
    remaining++;
    if (heap.size < limit) heap.push(key, item);
    else if (key < heap.topKey) heap.replaceTop(key, item);
  }
  const chosen = heap.drainAscending();
  const last = chosen[chosen.length - 1];
  return {
    items: chosen.map((entry) => view(entry.item)),
    nextCursor: remaining > limit && last !== undefined ? encodeCursor(last.key) : null,
  };
}

interface Entry<T> {
  key: string;
  item: T;
}

/** A binary max-heap by key: the largest key is at the top, to be replaced by a smaller one. */
class LargestOnTop<T> {
  private readonly entries: Entry<T>[] = [];

  get size(): number {
    return this.entries.length;
  }

  get topKey(): string {
    return this.entries[0]!.key;
  }

  push(key: string, item: T): void {
    const entries = this.entries;
    entries.push({ key, item });
    let i = entries.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (entries[parent]!.key >= entries[i]!.key) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  replaceTop(key: string, item: T): void {
    this.entries[0] = { key, item };
    this.siftDown(0);
  }

  /** Every entry, smallest key first (the heap is emptied). */
  drainAscending(): Entry<T>[] {
    const out = this.entries.splice(0);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  private siftDown(i: number): void {
    const entries = this.entries;
    const n = entries.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < n && entries[left]!.key > entries[largest]!.key) largest = left;
      if (right < n && entries[right]!.key > entries[largest]!.key) largest = right;
      if (largest === i) return;
      this.swap(i, largest);
      i = largest;
    }
  }

  private swap(a: number, b: number): void {
    const entries = this.entries;
    const t = entries[a]!;
    entries[a] = entries[b]!;
    entries[b] = t;
  }
}
