/** SQLite store: group commit, durability modes, batch bounds and a full disk. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStoreFull, SqliteStore } from '../../src/storage/index.js';
import { delivery, plainMessage } from '../contracts/store-fixtures.js';
import { nextTurn, tempStore, waitFor } from './helpers.js';

describe('group commit', () => {
  test('N concurrent commits in one tick share one transaction', async () => {
    const { store, done } = await tempStore();
    try {
      const before = store.transactions;
      // 100 "connections" each store a message, queue it, and wait for durability.
      const clients = Array.from({ length: 100 }, async (_, i) => {
        await Promise.resolve();
        store.putSession(`c${i}`, 60, undefined);
        store.putMessage(plainMessage(i + 1));
        store.enqueue(`c${i}`, 1, delivery(i + 1));
        await store.commit();
      });
      await Promise.all(clients);
      assert.equal(store.transactions - before, 1);
      assert.equal(store.database.inTransaction, false);
      assert.equal((await store.load()).sessions.length, 100);
    } finally {
      await done();
    }
  });

  test('mutations after a commit resolved go into the next transaction', async () => {
    const { store, done } = await tempStore();
    try {
      store.putSession('a', 60, undefined);
      await store.commit();
      store.putSession('b', 60, undefined);
      await store.commit();
      assert.equal(store.transactions, 2);
    } finally {
      await done();
    }
  });

  test('a batch is bounded: maxBatchOps mutations commit early', async () => {
    const { store, done } = await tempStore({ maxBatchOps: 10 });
    try {
      store.putSession('c', 60, undefined);
      for (let i = 1; i <= 24; i++) store.addInboundQos2('c', i);
      assert.equal(store.transactions, 2, 'two full batches committed synchronously');
      await store.commit();
      assert.equal(store.transactions, 3);
      assert.equal((await store.load()).sessions[0].inboundQos2.length, 24);
    } finally {
      await done();
    }
  });
});

describe('durability modes', () => {
  test("'fsync' (default): synchronous=FULL, commit() resolves after the transaction", async () => {
    const { store, done } = await tempStore();
    try {
      assert.equal(store.durability, 'fsync');
      assert.equal(store.database.pragma('synchronous', { simple: true }), 2);
      store.putSession('c', 60, undefined);
      assert.equal(store.database.inTransaction, true);
      await store.commit();
      assert.equal(store.database.inTransaction, false);
      assert.equal(store.transactions, 1);
    } finally {
      await done();
    }
  });

  test("'batched': commit() resolves at once; the batch is written within batchIntervalMs", async () => {
    const { store, done } = await tempStore({ durability: 'batched', batchIntervalMs: 20 });
    try {
      assert.equal(store.database.pragma('synchronous', { simple: true }), 2);
      store.putSession('c', 60, undefined);
      await store.commit();
      await nextTurn();
      assert.equal(store.transactions, 0, 'not yet written: the documented loss window');
      await waitFor(() => store.transactions === 1);
      assert.equal(store.database.inTransaction, false);
    } finally {
      await done();
    }
  });

  test("'batched': close writes the pending batch", async () => {
    const { store, dataDir, done } = await tempStore({
      durability: 'batched',
      batchIntervalMs: 60_000,
    });
    store.putSession('c', 60, undefined);
    await store.commit();
    await store.close();
    const again = new SqliteStore({ dataDir });
    await again.open();
    assert.equal((await again.load()).sessions.length, 1);
    await again.close();
    await done();
  });

  test("'none': synchronous=OFF, commit() resolves at once, written on the next tick", async () => {
    const { store, done } = await tempStore({ durability: 'none' });
    try {
      assert.equal(store.database.pragma('synchronous', { simple: true }), 0);
      store.putSession('c', 60, undefined);
      await store.commit();
      assert.equal(store.transactions, 0);
      await waitFor(() => store.transactions === 1);
    } finally {
      await done();
    }
  });
});

describe('a full disk', () => {
  const big = (id: number) => plainMessage(id, 'x'.repeat(64 * 1024));

  test('commit rejects with STORE_FULL, full is set, reads go on; raising the limit recovers', async () => {
    const { store, done } = await tempStore();
    try {
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(1));
      const kept = 1;
      store.enqueue('c', kept, delivery(1));
      await store.commit();
      const db = store.database;
      db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 4}`);

      for (let id = 2; id < 10; id++) {
        store.putMessage(big(id));
        store.enqueue('c', id, delivery(id));
      }
      const err = await store.commit().then(
        () => assert.fail('commit should fail'),
        (e: unknown) => e,
      );
      assert.ok(isStoreFull(err), String(err));
      assert.equal((err as { code: string }).code, 'STORE_FULL');
      assert.equal(store.full, true);
      assert.equal(store.failedTransactions, 1);
      // Reads still work, and nothing of the failed batch was kept.
      const { entries } = await store.readQueue('c', 0, 100);
      assert.deepEqual(
        entries.map((e) => e.seq),
        [kept],
      );

      db.pragma('max_page_count = 1073741823');
      store.putMessage(big(20));
      store.enqueue('c', 20, delivery(20));
      await store.commit();
      assert.equal(store.full, false);
      assert.equal((await store.readQueue('c', 0, 100)).entries.length, 2);
    } finally {
      await done();
    }
  });

  test("'batched': a batch already known to have failed makes commit() reject", async () => {
    const { store, done } = await tempStore({ durability: 'batched', batchIntervalMs: 5 });
    try {
      store.putSession('c', 60, undefined);
      await store.commit();
      store.flush();
      const db = store.database;
      db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 2}`);
      for (let id = 1; id < 6; id++) store.putMessage(big(id));
      await assert.rejects(store.commit(), { code: 'STORE_FULL' });
      assert.equal(store.full, true);
      await waitFor(() => store.failedTransactions === 1);
      db.pragma('max_page_count = 1073741823');
      store.putSession('d', 60, undefined);
      await store.commit();
      await waitFor(() => store.full === false);
    } finally {
      await done();
    }
  });

  test('a batch that failed is reported to a commit taken later in the same round of immediates (as Persistence looks at its turn)', async () => {
    const { store, done } = await tempStore();
    try {
      store.putSession('c', 60, undefined);
      await store.commit();
      store.database.exec('DROP TABLE inbound_qos2');
      store.addInboundQos2('c', 1);
      // Taken on an immediate after the store's own flush: it found no batch and resolved.
      const later = await new Promise<{ commit: Promise<void> }>((resolve) =>
        setImmediate(() => resolve({ commit: store.commit() })),
      );
      await assert.rejects(later.commit, /no such table/);
    } finally {
      await done();
    }
  });

  test('another failure rejects with its own error and does not set full', async () => {
    const { store, done } = await tempStore();
    try {
      store.putSession('c', 60, undefined);
      await store.commit();
      store.database.exec('DROP TABLE inbound_qos2');
      store.addInboundQos2('c', 1);
      await assert.rejects(store.commit(), /no such table/);
      assert.equal(store.full, false);
      store.putSession('d', 60, undefined);
      await store.commit();
      const sessions = store.database.prepare('SELECT count(*) FROM sessions').pluck().get();
      assert.equal(sessions, 2);
    } finally {
      await done();
    }
  });
});
