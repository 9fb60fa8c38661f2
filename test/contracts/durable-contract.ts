/** The store contract: what a durable store keeps across close and reopen, every port together. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MakeStore } from './store-contract.js';
import { retainedOf, withStore } from './store-contract.js';
import {
  canonical,
  delivery,
  plainMessage,
  richMessage,
  richWill,
  subscription,
} from './store-fixtures.js';

/**
 * Registers the durability tests. A store without `reopen` (memory) still runs them up to
 * the reopen, so the shared part of each test is checked everywhere.
 */
export function runDurableContract(makeStore: MakeStore): void {
  test('close commits what is pending; a reopened store loads the same state', () =>
    withStore(makeStore, async ({ store, reopen }) => {
      store.putSession('c', 120, 1_700_000_000_000);
      store.setSessionOwner('c', { username: 'alice' });
      store.putSubscription('c', subscription('a/#', { subscriptionId: 7 }));
      store.putMessage(richMessage(1));
      store.putMessage(plainMessage(2));
      store.enqueue('c', 1, delivery(2, { subscriptionIds: [7] }));
      store.putInflight('c', { packetId: 9, state: 'pubrel', delivery: delivery(1, { qos: 2 }) });
      store.addInboundQos2('c', 11);
      store.putWill('c', richWill());
      store.putRetained(richMessage(3, 'r/x'));
      const before = await store.load();
      const retainedBefore = await retainedOf(store);
      const queued = await store.readQueue('c', 0, 10);
      if (reopen === undefined) return;
      // No commit(): close must write what is pending.
      const again = await reopen();
      const after = await again.load();
      assert.deepEqual(canonical(after.sessions), canonical(before.sessions));
      assert.deepEqual(after.sessions[0].owner, { username: 'alice' });
      assert.deepEqual(after.messages, before.messages);
      assert.deepEqual(await retainedOf(again), retainedBefore);
      assert.deepEqual(after.wills, before.wills);
      assert.equal(after.lastMessageId, 3);
      assert.deepEqual(await again.readQueue('c', 0, 10), queued);
    }));

  test('lastSeq after a reopen is the highest stored seq: the owner continues above it', () =>
    withStore(makeStore, async ({ store, reopen }) => {
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(1));
      let last = 0;
      for (let i = 0; i < 3; i++) store.enqueue('c', ++last, delivery(1));
      await store.commit();
      if (reopen === undefined) return;
      const again = await reopen();
      assert.equal((await again.loadQueue('c')).state.lastSeq, last);
      assert.equal((await again.load()).sessions[0].lastSeq, last);
      const next = last + 1;
      again.enqueue('c', next, delivery(1));
      await again.commit();
      const entries = (await again.readQueue('c', 0, 10)).entries.map((e) => e.seq);
      assert.equal(entries.length, 4);
      assert.deepEqual(
        entries,
        [...entries].sort((a, b) => a - b),
      );
    }));

  test('loadSession and loadQueue after a reopen read one client as load() does', () =>
    withStore(makeStore, async ({ store, reopen }) => {
      store.putSession('c', 120, undefined);
      store.setSessionOwner('c', { username: null });
      store.putSubscription('c', subscription('a/#', { qos: 2 }));
      store.addInboundQos2('c', 4);
      store.putMessage(plainMessage(1, 'queued'));
      store.putMessage(richMessage(2));
      store.enqueue('c', 1, delivery(1));
      store.putInflight('c', { packetId: 3, state: 'publish', delivery: delivery(2) });
      store.putSession('d', 60, undefined);
      if (reopen === undefined) return;
      const again = await reopen();
      const [all] = (await again.load()).sessions.filter((s) => s.clientId === 'c');
      const record = await again.loadSession('c');
      const { state, messages } = await again.loadQueue('c');
      assert.deepEqual({ ...record, ...state }, all);
      assert.deepEqual(messages.get(2), richMessage(2));
    }));
}
