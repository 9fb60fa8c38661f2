/**
 * `matchRetained()` for the SQLite store: the rows a filter can match are read by a range of
 * the topic index (the literal levels before the first wildcard), then tested one by one
 * against the filter. Expired ones are deleted in the current batch instead of returned.
 */
import type { StoredMessage } from '../../ports/index.js';
import { topicMatchesFilter } from '../../topic/index.js';
import type { GroupCommit } from './group-commit.js';
import { type MessageRow, toMessage } from './rows.js';
import type { Statements } from './statements.js';

/** The live retained messages matching `filter`, in topic order. */
export function matchRetainedRows(
  stm: Statements,
  batcher: GroupCommit,
  filter: string,
  now: number,
): StoredMessage[] {
  const found: StoredMessage[] = [];
  const expired: string[] = [];
  for (const row of candidates(stm, filter)) {
    if (!topicMatchesFilter(row.topic, filter)) continue;
    if (row.expires_at !== null && row.expires_at <= now) expired.push(row.topic);
    else found.push(toMessage(row));
  }
  // better-sqlite3 runs no write while an iterator is open: the deletes come after it.
  if (expired.length > 0) {
    batcher.run(() => {
      for (const topic of expired) stm.deleteRetainedIfExpired.run(topic, now);
    });
  }
  return found;
}

/**
 * Every row whose topic can match `filter`, in topic order. A filter without wildcards is
 * one topic. Otherwise the filter's literal levels before its first wildcard (`a/b` of
 * `a/b/+/c`) bound the range: `a/b` itself (which `a/b/#` matches) up to `a/b0` ('0' follows
 * '/' in UTF-8 byte order, which is how SQLite compares TEXT), so every `a/b/...` is inside.
 */
function candidates(stm: Statements, filter: string): Iterable<MessageRow> {
  const wildcard = firstWildcard(filter);
  if (wildcard === -1) return stm.matchRetainedTopic.all(filter) as MessageRow[];
  if (wildcard === 0) return stm.matchRetainedAll.iterate() as Iterable<MessageRow>;
  const literal = filter.slice(0, wildcard - 1);
  return stm.matchRetainedRange.iterate(literal, `${literal}0`) as Iterable<MessageRow>;
}

/** Index of the first '+' or '#' level of a valid filter, -1 when it has none. */
function firstWildcard(filter: string): number {
  const plus = filter.indexOf('+');
  const hash = filter.indexOf('#');
  if (plus === -1) return hash;
  return hash === -1 ? plus : Math.min(plus, hash);
}
