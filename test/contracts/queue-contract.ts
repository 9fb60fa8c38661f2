/** The store contract, message port: queues (seq, paging, read-your-writes, counts) and message GC. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageStore, StoredDelivery } from '../../src/ports/index.js';
import type { MakeStore } from './store-contract.js';
import { withStore } from './store-contract.js';
import { delivery, plainMessage } from './store-fixtures.js';

/**
 * Enqueues as a session's owner does: each client's entries numbered 1, 2, 3... (StoredQueue
 * in the core); returns the seq given.
 */
function owner(store: MessageStore): (clientId: string, d: StoredDelivery) => number {
  const last = new Map<string, number>();
  return (clientId, d) => {
    const seq = (last.get(clientId) ?? 0) + 1;
    last.set(clientId, seq);
    store.enqueue(clientId, seq, d);
    return seq;
  };
}

/** Registers the queue and GC tests. */
export function runQueueContract(makeStore: MakeStore): void {
  runQueueOrderContract(makeStore);
  runQueueCountsAndGcContract(makeStore);
}

/** Seq, paging and read-your-writes. */
function runQueueOrderContract(makeStore: MakeStore): void {
  test('enqueue: entries keep the seqs their owner gives, per session; lastSeq is the highest queued', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('a', 60, undefined);
      store.putSession('b', 60, undefined);
      store.putMessage(plainMessage(1));
      store.enqueue('a', 3, delivery(1));
      store.enqueue('b', 3, delivery(1)); // the same seq in another session
      store.enqueue('a', 10, delivery(1)); // gaps are allowed
      store.enqueue('a', 11, delivery(1));
      assert.deepEqual(
        (await store.readQueue('a', 0, 10)).entries.map((e) => e.seq),
        [3, 10, 11],
      );
      assert.deepEqual(
        (await store.readQueue('b', 0, 10)).entries.map((e) => e.seq),
        [3],
      );
      assert.equal((await store.loadQueue('a')).state.lastSeq, 11);
      store.dequeue('a', 11);
      assert.equal((await store.loadQueue('a')).state.lastSeq, 0, 'an emptied queue');
      store.enqueue('a', 12, delivery(1));
      await store.commit();
      assert.equal((await store.loadQueue('a')).state.lastSeq, 12);
      assert.equal((await store.load()).sessions.find((s) => s.clientId === 'a')?.lastSeq, 12);
    }));

  test('readQueue: in order, paged by afterSeq and limit, deliveries round-trip', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      const seqs: number[] = [];
      for (let id = 1; id <= 5; id++) {
        store.putMessage(plainMessage(id));
        const extra =
          id === 2
            ? {
                subscriptionIds: [1, 268_435_455],
                shareFilter: '$share/g/t/#',
                qos: 2 as const,
                retain: true,
              }
            : {};
        seqs.push(enqueue('c', delivery(id, extra)));
      }
      await store.commit();
      const first = await store.readQueue('c', 0, 2);
      assert.deepEqual(first.entries, [
        { seq: seqs[0], delivery: delivery(1) },
        {
          seq: seqs[1],
          delivery: delivery(2, {
            subscriptionIds: [1, 268_435_455],
            shareFilter: '$share/g/t/#',
            qos: 2,
            retain: true,
          }),
        },
      ]);
      assert.deepEqual([...first.messages.keys()].sort(), [1, 2]);
      const rest = await store.readQueue('c', seqs[1], 100);
      assert.deepEqual(
        rest.entries.map((e) => e.seq),
        seqs.slice(2),
      );
      assert.deepEqual((await store.readQueue('c', seqs[4], 10)).entries, []);
      assert.deepEqual((await store.readQueue('c', 0, 0)).entries, []);
      assert.deepEqual((await store.readQueue('nobody', 0, 10)).entries, []);
    }));

  test('read-your-writes: readQueue and load see mutations before commit', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(1));
      const seq = enqueue('c', delivery(1));
      const read = await store.readQueue('c', 0, 10);
      assert.deepEqual(read.entries, [{ seq, delivery: delivery(1) }]);
      assert.deepEqual(read.messages.get(1), plainMessage(1));
      const state = await store.load();
      assert.equal(state.sessions[0].queuedCount, 1);
      store.dequeue('c', seq);
      assert.deepEqual((await store.readQueue('c', 0, 10)).entries, []);
      await store.commit();
    }));
}

/** Counts, shared messages and message GC. */
function runQueueCountsAndGcContract(makeStore: MakeStore): void {
  test('dequeue removes entries up to a seq; load counts what is left and its bytes', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      const seqs: number[] = [];
      for (let id = 1; id <= 4; id++) {
        store.putMessage(plainMessage(id, 'x'.repeat(id * 10)));
        seqs.push(enqueue('c', delivery(id)));
      }
      store.dequeue('c', seqs[1]);
      store.dequeue('c', seqs[0]); // already gone: no-op
      await store.commit();
      const [s] = (await store.load()).sessions;
      assert.equal(s.queuedCount, 2);
      assert.equal(s.queuedBytes, 30 + 40);
      const left = await store.readQueue('c', 0, 10);
      assert.deepEqual(
        left.entries.map((e) => e.seq),
        seqs.slice(2),
      );
    }));

  test('removeQueued removes the entry at one seq only: those below and above it stay, with their bytes', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      const seqs: number[] = [];
      for (let id = 1; id <= 5; id++) {
        store.putMessage(plainMessage(id, 'x'.repeat(id * 10)));
        seqs.push(enqueue('c', delivery(id)));
      }
      // Out of order, as shared entries taken for another member (StoredQueue.takeShared).
      store.removeQueued('c', seqs[3]);
      store.removeQueued('c', seqs[1]);
      store.removeQueued('c', seqs[1]); // already gone: no-op
      store.removeQueued('c', seqs[4] + 10); // never queued: no-op
      store.removeQueued('nobody', 1);
      // Read-your-writes before the commit, as after it.
      const expected = [seqs[0], seqs[2], seqs[4]];
      assert.deepEqual(
        (await store.readQueue('c', 0, 10)).entries.map((e) => e.seq),
        expected,
      );
      await store.commit();
      assert.deepEqual(
        (await store.readQueue('c', 0, 10)).entries.map((e) => e.seq),
        expected,
      );
      const [s] = (await store.load()).sessions;
      assert.equal(s.queuedCount, 3);
      assert.equal(s.queuedBytes, 10 + 30 + 50);
      assert.equal((await store.loadQueue('c')).state.lastSeq, seqs[4]);
      // The first and the last entry too; dequeue goes on over the gaps.
      store.removeQueued('c', seqs[0]);
      store.removeQueued('c', seqs[4]);
      await store.commit();
      assert.deepEqual(
        (await store.readQueue('c', 0, 10)).entries.map((e) => e.seq),
        [seqs[2]],
      );
      assert.equal((await store.loadQueue('c')).state.lastSeq, seqs[2]);
      store.dequeue('c', seqs[4]);
      await store.commit();
      const [empty] = (await store.load()).sessions;
      assert.equal(empty.queuedCount, 0);
      assert.equal(empty.queuedBytes, 0);
    }));

  test("removeQueued takes back the entry's reference: its message goes once nothing else references it", () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      store.putSession('d', 60, undefined);
      store.putMessage(plainMessage(1));
      store.putMessage(plainMessage(2));
      enqueue('c', delivery(1));
      const s2 = enqueue('c', delivery(2));
      const s3 = enqueue('c', delivery(1));
      const d1 = enqueue('d', delivery(2));
      await store.commit();
      store.removeQueued('c', s2); // 2 is still queued for d
      store.removeQueued('c', s3); // 1 is still queued at c's first entry
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 2, 'both still referenced');
      store.removeQueued('d', d1); // 2 is unreferenced now
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 1);
      const { entries, messages } = await store.readQueue('c', 0, 10);
      assert.deepEqual(
        entries.map((e) => e.delivery.messageId),
        [1],
      );
      assert.deepEqual(messages.get(1), plainMessage(1));
    }));

  test('one message shared by many queues is stored once and read by each', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putMessage(plainMessage(1, 'shared'));
      for (const c of ['a', 'b', 'c']) {
        store.putSession(c, 60, undefined);
        enqueue(c, delivery(1));
      }
      await store.commit();
      assert.equal(store.countMessages(), 1);
      for (const c of ['a', 'b', 'c']) {
        const { messages } = await store.readQueue(c, 0, 10);
        assert.equal(messages.get(1)?.payload.toString(), 'shared');
      }
    }));

  test('gc: a message goes once no queue or inflight entry references it', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      store.putSession('d', 60, undefined);
      for (const id of [1, 2, 3, 4]) store.putMessage(plainMessage(id));
      const s1 = enqueue('c', delivery(1));
      enqueue('c', delivery(2));
      enqueue('d', delivery(1));
      store.putInflight('c', { packetId: 1, state: 'publish', delivery: delivery(3) });
      store.putInflight('d', { packetId: 1, state: 'publish', delivery: delivery(4) });
      await store.commit();
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 4, 'all referenced');
      store.dequeue('c', s1); // 1 is still queued for d
      store.deleteInflight('c', 1); // 3 is unreferenced now
      store.deleteSession('d');
      store.deleteQueue('d'); // 1 and 4 are unreferenced now
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 1);
      const { messages } = await store.readQueue('c', 0, 10);
      assert.deepEqual([...messages.keys()], [2]);
    }));

  test('a message put again after it was collected is stored again (putMessage before each reference)', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(1));
      const seq = enqueue('c', delivery(1));
      await store.commit();
      store.dequeue('c', seq);
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 0);
      store.putMessage(plainMessage(1));
      store.putInflight('c', { packetId: 1, state: 'publish', delivery: delivery(1) });
      await store.commit();
      assert.deepEqual((await store.load()).messages.get(1), plainMessage(1));
    }));

  test('a message whose last entry goes and that an entry then references again, in one batch, keeps its body', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      store.putSession('d', 60, undefined);
      store.putMessage(plainMessage(1));
      store.putMessage(plainMessage(2));
      const seq = enqueue('c', delivery(1));
      await store.commit();
      // As a session moves a queued message to inflight: dequeue, then the inflight entry.
      store.dequeue('c', seq);
      store.putMessage(plainMessage(1));
      store.putInflight('c', { packetId: 1, state: 'publish', delivery: delivery(1) });
      // Queued, dequeued and queued for another session, all in one batch.
      const seq2 = enqueue('c', delivery(2));
      store.dequeue('c', seq2);
      store.putMessage(plainMessage(2));
      enqueue('d', delivery(2));
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 2);
      assert.deepEqual((await store.load()).messages.get(1), plainMessage(1));
      const { messages } = await store.readQueue('d', 0, 10);
      assert.deepEqual(messages.get(2), plainMessage(2));
    }));

  test('lastMessageId is the highest id ever stored, even after its message is collected', () =>
    withStore(makeStore, async ({ store }) => {
      const enqueue = owner(store);
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(41));
      store.putMessage(plainMessage(42));
      const seq = enqueue('c', delivery(42));
      await store.commit();
      store.dequeue('c', seq);
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 0);
      assert.equal((await store.load()).lastMessageId, 42);
    }));
}
