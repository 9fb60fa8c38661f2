/**
 * `loadRetained()` for the SQLite store: retained rows read one at a time in topic order, so
 * a table larger than the broker's memory (huge topics written by an older version) never
 * has to fit in it; expired rows and the rows past the first one the broker refuses are
 * deleted, so the next start does not read them again.
 */
import type { RetainedLoad, StoredMessage } from '../../ports/index.js';
import type { GroupCommit } from './group-commit.js';
import { type MessageRow, toMessage } from './rows.js';
import type { Statements } from './statements.js';

/** Streams the live retained rows to `accept` (see `BrokerStore.loadRetained`). */
export function loadRetainedRows(
  stm: Statements,
  batcher: GroupCommit,
  now: number,
  accept: (message: StoredMessage) => boolean,
): RetainedLoad {
  const result: RetainedLoad = { restored: 0, expired: 0, dropped: 0 };
  let refusedAt: string | undefined;
  // better-sqlite3 runs no write while an iterator is open: the deletes come after it.
  for (const row of stm.iterateRetained.iterate(now) as Iterable<MessageRow>) {
    if (accept(toMessage(row))) {
      result.restored++;
      continue;
    }
    refusedAt = row.topic;
    break; // leaving the loop closes the iterator
  }
  batcher.run(() => {
    result.expired = stm.deleteExpiredRetained.run(now).changes;
    if (refusedAt !== undefined) {
      result.dropped = stm.deleteRetainedFrom.run(refusedAt).changes;
    }
  });
  return result;
}
