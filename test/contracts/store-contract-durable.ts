/** The store contract, part 3: what a durable store keeps across close and reopen. */
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
      store.enqueue('c', delivery(2, { subscriptionIds: [7] }));
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

  test('enqueue continues above the highest stored seq after a reopen', () =>
    withStore(makeStore, async ({ store, reopen }) => {
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(1));
      let last = 0;
      for (let i = 0; i < 3; i++) last = store.enqueue('c', delivery(1));
      await store.commit();
      if (reopen === undefined) return;
      const again = await reopen();
      const next = again.enqueue('c', delivery(1));
      assert.ok(next > last, `${next} > ${last}`);
      await again.commit();
      const entries = (await again.readQueue('c', 0, 10)).entries.map((e) => e.seq);
      assert.equal(entries.length, 4);
      assert.deepEqual(
        entries,
        [...entries].sort((a, b) => a - b),
      );
    }));
}
