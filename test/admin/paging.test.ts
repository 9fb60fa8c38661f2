/**
 * Paging of the read API (src/admin/paging.ts): following the cursors lists every key once,
 * in order, for any collection and page size; changes between pages move nothing else;
 * cursors and limits it did not make are refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeCursor, encodeCursor, pageOf } from '../../src/admin/paging.js';
import { InvalidRequestError, MAX_PAGE_SIZE } from '../../src/index.js';

/** Every page of `keys`, following the cursors. */
function walk(keys: Iterable<string>, limit: number): { items: string[]; pages: number } {
  const items: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = pageOf(
      keys,
      (k) => k,
      (k) => k,
      { cursor, limit },
    );
    pages++;
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    assert.ok(pages <= 10_000, 'the cursors end');
  } while (cursor !== undefined);
  return { items, pages };
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

describe('admin API paging', () => {
  it('lists every key exactly once, in order, in ceil(n / limit) pages', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        (keys, limit) => {
          const { items, pages } = walk(keys, limit);
          assert.deepEqual(items, [...keys].sort(byCodeUnits));
          assert.equal(pages, Math.max(1, Math.ceil(keys.length / limit)));
        },
      ),
    );
  });

  it('keys added or removed between pages leave the others listed once', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 100 }),
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 10 }),
        (initial, churn, limit) => {
          const live = new Set(initial);
          const stable = new Set(initial);
          const seen: string[] = [];
          let cursor: string | undefined;
          let turn = 0;
          do {
            const page = pageOf(
              live,
              (k) => k,
              (k) => k,
              { cursor, limit },
            );
            seen.push(...page.items);
            cursor = page.nextCursor ?? undefined;
            assert.ok(turn < 10_000, 'the cursors end');
            // Between pages, one key comes or goes.
            const key = churn[turn++ % Math.max(churn.length, 1)];
            if (key !== undefined) {
              if (live.has(key)) live.delete(key);
              else live.add(key);
              stable.delete(key);
            }
          } while (cursor !== undefined);
          assert.equal(new Set(seen).size, seen.length, 'nothing twice');
          assert.deepEqual(seen, [...seen].sort(byCodeUnits), 'in order');
          for (const key of stable) assert.ok(seen.includes(key), `${key} listed`);
        },
      ),
    );
  });

  it('cursors round-trip any client id or topic and fit in a URL', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (key) => {
        const cursor = encodeCursor(key);
        assert.match(cursor, /^[A-Za-z0-9_-]+$/);
        assert.equal(decodeCursor(cursor), key);
      }),
    );
  });

  it('refuses cursors it did not make and limits out of range', () => {
    assert.throws(() => decodeCursor('not a cursor!'), InvalidRequestError);
    assert.throws(() => decodeCursor('1abc='), InvalidRequestError);
    assert.throws(() => decodeCursor(encodeCursor('x').slice(1)), InvalidRequestError);
    for (const limit of [0, -1, MAX_PAGE_SIZE + 1, 2.5]) {
      assert.throws(
        () =>
          pageOf(
            [],
            (k: string) => k,
            (k) => k,
            { limit },
          ),
        InvalidRequestError,
      );
    }
    assert.deepEqual(
      pageOf(
        [],
        (k: string) => k,
        (k) => k,
        { limit: MAX_PAGE_SIZE },
      ),
      {
        items: [],
        nextCursor: null,
      },
    );
  });
});
