/**
 * Fenced writes (WriteFence): a cluster node deletes again a session whose deletion's batch
 * failed, and writes its will, only while it still owns the client; the condition is checked
 * in the same atomic step as the write, so that the write never lands over the session
 * another node took since. A store no other node writes (memory, SQLite) applies them; a store
 * that nodes share (Redis) applies them exactly while the fence key holds the value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WriteFence } from '../../src/ports/index.js';
import { type InspectableStore, type MakeStore, withStore } from './store-contract.js';
import { delivery, plainMessage, richWill, subscription } from './store-fixtures.js';

/** A session `c` with a subscription, a queued and an inflight entry, and a will. */
function putClient(store: InspectableStore): void {
  store.putSession('c', 60, undefined);
  store.putSubscription('c', subscription('a/#'));
  store.putMessage(plainMessage(1));
  store.putMessage(plainMessage(2));
  store.enqueue('c', 1, delivery(1));
  store.putInflight('c', { packetId: 7, state: 'publish', delivery: delivery(2) });
  store.putWill('c', richWill());
}

/** The fenced writes the resync makes for a client whose session it does not hold. */
function fencedWrites(store: InspectableStore, fence: WriteFence): void {
  store.deleteSession('c', fence);
  store.deleteQueue('c', fence);
  store.putWill('c', { ...richWill(), dueAt: 1_700_000_000_000 }, fence);
}

/** What the store holds of `c`: its record, queue and inflight counts, its will's due time. */
async function held(store: InspectableStore) {
  const record = await store.loadSession('c');
  const { state } = await store.loadQueue('c');
  const will = (await store.loadWills()).get('c');
  return {
    session: record !== undefined,
    queued: state.queuedCount,
    inflight: state.inflight.length,
    will: will === undefined ? 'none' : (will.dueAt ?? 'connected'),
  };
}

/** Registers the fenced-write tests. */
export function runFenceContract(makeStore: MakeStore): void {
  test('fenced writes: applied where the store has the fence holding (or is one node’s alone), left out where it does not', () =>
    withStore(makeStore, async ({ store, fences }) => {
      putClient(store);
      await store.commit();
      const fence = { key: fences?.key('owner:c') ?? 'owner:c', value: 'node-a' };
      if (fences !== undefined) {
        // Another node owns the client now: its session stays as it is.
        await fences.set(fence.key, 'node-b');
        fencedWrites(store, fence);
        await store.commit();
        assert.deepEqual(await held(store), {
          session: true,
          queued: 1,
          inflight: 1,
          will: richWill().dueAt ?? 'connected',
        });
        await fences.set(fence.key, undefined);
        fencedWrites(store, fence);
        await store.commit();
        assert.equal((await held(store)).session, true, 'no owner key: nothing deleted');
        await fences.set(fence.key, fence.value);
      }
      fencedWrites(store, fence);
      await store.commit();
      assert.deepEqual(await held(store), {
        session: false,
        queued: 0,
        inflight: 0,
        will: 1_700_000_000_000,
      });
      // The messages the deleted entries held are collected with them.
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 0);
    }));
}
