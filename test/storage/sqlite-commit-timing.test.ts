/** SQLite store: the per-batch commit timings the metrics read (observeCommits). */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { CommitObserver } from '../../src/ports/index.js';
import { SqliteStore } from '../../src/storage/index.js';
import { delivery, plainMessage } from '../contracts/store-fixtures.js';

/** An observer that keeps every call. */
function recorder(): CommitObserver & { calls: [number, number, number][] } {
  const calls: [number, number, number][] = [];
  return { calls, committed: (batch, commit, writes) => calls.push([batch, commit, writes]) };
}

describe('SQLite store: commit timings', () => {
  test('one call per committed batch, with the batch and COMMIT durations and its writes', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pipit-timing-'));
    const store = new SqliteStore({ dataDir });
    const observer = recorder();
    store.observeCommits(observer); // before open: kept for the connection it opens
    await store.open();
    try {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          await Promise.resolve();
          store.putSession(`c${i}`, 60, undefined);
          store.putMessage(plainMessage(i + 1));
          store.enqueue(`c${i}`, 1, delivery(i + 1));
          await store.commit();
        }),
      );
      assert.equal(observer.calls.length, 1, 'a group commit is one batch');
      const [[batchSeconds, commitSeconds, writes]] = observer.calls as [[number, number, number]];
      assert.equal(writes, 150);
      assert.ok(commitSeconds > 0);
      assert.ok(batchSeconds >= commitSeconds, 'the batch includes its COMMIT');
      store.putSession('later', 60, undefined);
      await store.commit();
      assert.equal(observer.calls.length, 2);
      assert.equal(observer.calls[1]![2], 1);
    } finally {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('observeCommits(undefined) stops the calls', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pipit-timing-'));
    const store = new SqliteStore({ dataDir });
    await store.open();
    const observer = recorder();
    store.observeCommits(observer); // after open: applies to the open connection
    try {
      store.putSession('a', 60, undefined);
      await store.commit();
      assert.equal(observer.calls.length, 1);
      store.observeCommits(undefined);
      store.putSession('b', 60, undefined);
      await store.commit();
      assert.equal(observer.calls.length, 1);
    } finally {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
