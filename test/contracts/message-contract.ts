/** The store contract, message port: messages and inflight entries, one client's queue state. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MakeStore } from './store-contract.js';
import { withStore } from './store-contract.js';
import { delivery, plainMessage, richMessage } from './store-fixtures.js';

/** Registers the message and inflight tests. */
export function runMessageContract(makeStore: MakeStore): void {
  test('messages round-trip exactly: binary payload, Buffer and pair properties, expiry, origin', () =>
    withStore(makeStore, async ({ store }) => {
      const rich = richMessage(1);
      const empty = { ...plainMessage(2), payload: Buffer.alloc(0) };
      store.putSession('c', 60, undefined);
      store.putMessage(rich);
      store.putMessage(empty);
      store.enqueue('c', 1, delivery(1));
      store.enqueue('c', 2, delivery(2));
      await store.commit();
      const { messages } = await store.readQueue('c', 0, 10);
      assert.deepEqual(messages.get(1), rich);
      assert.deepEqual(messages.get(2), empty);
      assert.equal(messages.get(2)?.payload.length, 0);
    }));

  test('putMessage is idempotent by id: the first copy stays', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(5, 'first'));
      store.putMessage(plainMessage(5, 'second'));
      store.enqueue('c', 1, delivery(5));
      await store.commit();
      const { messages } = await store.readQueue('c', 0, 10);
      assert.equal(messages.get(5)?.payload.toString(), 'first');
      assert.equal(store.countMessages(), 1);
    }));

  test('inflight: send order, state change keeps the place, messages in load, delete', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      for (const id of [1, 2, 3]) store.putMessage(plainMessage(id));
      store.putInflight('c', { packetId: 30, state: 'publish', delivery: delivery(1) });
      store.putInflight('c', { packetId: 10, state: 'publish', delivery: delivery(2, { qos: 2 }) });
      store.putInflight('c', { packetId: 20, state: 'publish', delivery: delivery(3) });
      store.putInflight('c', { packetId: 10, state: 'pubrel', delivery: delivery(2, { qos: 2 }) });
      store.deleteInflight('c', 20);
      store.deleteInflight('c', 99);
      await store.commit();
      const state = await store.load();
      assert.deepEqual(state.sessions[0].inflight, [
        { packetId: 30, state: 'publish', delivery: delivery(1) },
        { packetId: 10, state: 'pubrel', delivery: delivery(2, { qos: 2 }) },
      ]);
      assert.deepEqual([...state.messages.keys()].sort(), [1, 2]);
      assert.deepEqual(state.messages.get(2), plainMessage(2));
    }));

  test('inflight: a packet id reused for another message goes last in send order', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      for (const id of [1, 2, 3]) store.putMessage(plainMessage(id));
      store.putInflight('c', { packetId: 1, state: 'publish', delivery: delivery(1) });
      store.putInflight('c', { packetId: 2, state: 'publish', delivery: delivery(2) });
      store.putInflight('c', { packetId: 1, state: 'publish', delivery: delivery(3) });
      await store.commit();
      const order = (await store.load()).sessions[0].inflight.map((f) => f.delivery.messageId);
      assert.deepEqual(order, [2, 3]);
    }));

  test('loadQueue: one client inflight in send order, queue count, bytes and last seq, with messages', () =>
    withStore(makeStore, async ({ store }) => {
      store.putMessage(plainMessage(1, 'aa'));
      store.putMessage(plainMessage(2, 'bbbb'));
      store.putMessage(plainMessage(3));
      store.enqueue('c', 4, delivery(1));
      store.enqueue('c', 9, delivery(2));
      store.putInflight('c', { packetId: 7, state: 'publish', delivery: delivery(3) });
      store.putInflight('c', { packetId: 5, state: 'pubrel', delivery: delivery(1, { qos: 2 }) });
      store.enqueue('other', 1, delivery(3));
      // Read-your-writes: before the commit as after it.
      for (const phase of ['before commit', 'after commit']) {
        const { state, messages } = await store.loadQueue('c');
        assert.deepEqual(
          state,
          {
            inflight: [
              { packetId: 7, state: 'publish', delivery: delivery(3) },
              { packetId: 5, state: 'pubrel', delivery: delivery(1, { qos: 2 }) },
            ],
            queuedCount: 2,
            queuedBytes: 6,
            lastSeq: 9,
          },
          phase,
        );
        assert.deepEqual(
          [...messages.keys()].sort(),
          [1, 3],
          `${phase}: the messages of inflight entries`,
        );
        await store.commit();
      }
      const none = await store.loadQueue('nobody');
      assert.deepEqual(none.state, { inflight: [], queuedCount: 0, queuedBytes: 0, lastSeq: 0 });
      assert.equal(none.messages.size, 0);
    }));

  test('deleteQueue removes the queue and inflight entries of one client only', () =>
    withStore(makeStore, async ({ store }) => {
      store.putMessage(plainMessage(1));
      for (const c of ['gone', 'kept']) {
        store.putSession(c, 60, undefined);
        store.enqueue(c, 1, delivery(1));
        store.putInflight(c, { packetId: 1, state: 'publish', delivery: delivery(1) });
      }
      store.deleteQueue('gone');
      await store.commit();
      assert.equal((await store.loadQueue('gone')).state.queuedCount, 0);
      assert.deepEqual((await store.loadQueue('gone')).state.inflight, []);
      assert.equal((await store.loadQueue('kept')).state.queuedCount, 1);
      assert.equal((await store.loadQueue('kept')).state.inflight.length, 1);
      assert.notEqual(
        await store.loadSession('gone'),
        undefined,
        'the session record is the session port’s',
      );
    }));
}
