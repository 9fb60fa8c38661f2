/**
 * The store contract: one suite every implementation (memory, SQLite, later Redis) must pass,
 * one section per port (sessions; messages, queues and inflight; retained) and one for what
 * the ports do together and across a reopen. `runStoreContract(name, makeStore)` registers it
 * under `describe(name)`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BrokerStore, StoredMessage } from '../../src/ports/index.js';
import { runDurableContract } from './durable-contract.js';
import { runFenceContract } from './fence-contract.js';
import { runMessageContract } from './message-contract.js';
import { runQueueContract } from './queue-contract.js';
import { runRetainedContract } from './retained-contract.js';
import { runSessionContract } from './session-contract.js';
import { delivery, plainMessage, richWill, subscription } from './store-fixtures.js';

/** What the contract needs besides the ports: forcing and observing message GC. */
export interface InspectableStore extends BrokerStore {
  /** Deletes every message no queue/inflight entry references (in the current batch). */
  gc(): void;
  /** Number of stored messages, retained ones excluded. */
  countMessages(): number;
}

/** A fresh, opened store and how to dispose of it. */
export interface StoreFixture {
  store: InspectableStore;
  /** Durable stores: closes `store` and opens a new instance over the same data. */
  reopen?: () => Promise<InspectableStore>;
  /** Closes whatever is open and removes its files. */
  cleanup(): Promise<void>;
  /**
   * A store that nodes share (Redis): the full name of a fence key (WriteFence) for `name`,
   * and setting it to a value (or deleting it); absent for the stores of one node.
   */
  fences?: {
    key(name: string): string;
    set(key: string, value: string | undefined): Promise<void>;
  };
}

/** Makes a fresh fixture (the store already opened). */
export type MakeStore = () => Promise<StoreFixture>;

/** Runs `body` with a fresh fixture and cleans up after it, pass or fail. */
export async function withStore(
  makeStore: MakeStore,
  body: (f: StoreFixture) => Promise<void>,
): Promise<void> {
  const fixture = await makeStore();
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup();
  }
}

/** Every live retained message the store holds, in the order `loadRetained` reads them. */
export async function retainedOf(store: BrokerStore, now = 0): Promise<StoredMessage[]> {
  const all: StoredMessage[] = [];
  await store.loadRetained(now, (message) => {
    all.push(message);
    return true;
  });
  return all;
}

/** Registers the whole contract suite for one implementation. */
export function runStoreContract(name: string, makeStore: MakeStore): void {
  describe(`BrokerStore contract: ${name}`, () => {
    describe('sessions (SessionStore)', () => runSessionContract(makeStore));
    describe('messages and inflight (MessageStore)', () => runMessageContract(makeStore));
    describe('queues (MessageStore)', () => runQueueContract(makeStore));
    describe('retained (RetainedStore)', () => runRetainedContract(makeStore));
    describe('the ports together', () => runCompositeContract(makeStore));
    describe('across a reopen', () => runDurableContract(makeStore));
    describe('fenced writes (WriteFence)', () => runFenceContract(makeStore));
  });
}

/** A new store, the start-up read of the ports together, deleting a whole session, commit. */
function runCompositeContract(makeStore: MakeStore): void {
  test('a new store loads empty', () =>
    withStore(makeStore, async ({ store }) => {
      const state = await store.load();
      assert.deepEqual(state.sessions, []);
      assert.deepEqual(await retainedOf(store), []);
      assert.equal(state.messages.size, 0);
      assert.equal(state.wills.size, 0);
      assert.equal(state.lastMessageId, 0);
      assert.equal(store.full, false);
      assert.equal(typeof store.kind, 'string');
    }));

  test('load joins each session with its queue state; rows of a client without a session are not loaded', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(1, 'abc'));
      store.putMessage(plainMessage(2));
      store.enqueue('c', 1, delivery(1));
      store.putInflight('c', { packetId: 4, state: 'publish', delivery: delivery(2) });
      store.putMessage(plainMessage(3));
      store.putInflight('ghost', { packetId: 1, state: 'publish', delivery: delivery(3) });
      await store.commit();
      const state = await store.load();
      assert.equal(state.sessions.length, 1);
      const [s] = state.sessions;
      assert.equal(s.queuedCount, 1);
      assert.equal(s.queuedBytes, 3);
      assert.equal(s.lastSeq, 1);
      assert.deepEqual(s.inflight, [{ packetId: 4, state: 'publish', delivery: delivery(2) }]);
      assert.deepEqual([...state.messages.keys()], [2]);
      assert.equal(state.lastMessageId, 3);
    }));

  test('deleting a session through both ports removes subscriptions, queue, inflight, inbound ids and will', () =>
    withStore(makeStore, async ({ store }) => {
      for (const id of ['gone', 'kept']) {
        store.putSession(id, 60, undefined);
        store.putSubscription(id, subscription('a/+'));
        store.putMessage(plainMessage(id === 'gone' ? 1 : 2));
        store.enqueue(id, 1, delivery(id === 'gone' ? 1 : 2));
        store.putInflight(id, {
          packetId: 1,
          state: 'publish',
          delivery: delivery(id === 'gone' ? 1 : 2),
        });
        store.addInboundQos2(id, 5);
        store.putWill(id, richWill());
      }
      store.deleteSession('gone');
      store.deleteQueue('gone');
      await store.commit();
      const state = await store.load();
      assert.deepEqual(
        state.sessions.map((s) => s.clientId),
        ['kept'],
      );
      assert.deepEqual([...state.wills.keys()], ['kept']);
      assert.deepEqual([...state.messages.keys()], [2]);
      assert.deepEqual((await store.readQueue('gone', 0, 10)).entries, []);
      assert.equal((await store.readQueue('kept', 0, 10)).entries.length, 1);
      // Recreated under the same id: nothing of the old session comes back.
      store.putSession('gone', 60, undefined);
      await store.commit();
      const again = await store.loadSession('gone');
      assert.deepEqual(again, {
        clientId: 'gone',
        expiryInterval: 60,
        subscriptions: [],
        inboundQos2: [],
      });
      assert.deepEqual((await store.loadQueue('gone')).state, {
        inflight: [],
        queuedCount: 0,
        queuedBytes: 0,
        lastSeq: 0,
      });
    }));

  test('commit: many concurrent callers all resolve; commit with nothing pending resolves', () =>
    withStore(makeStore, async ({ store }) => {
      await store.commit();
      store.putSession('c', 1, undefined);
      const commits = [];
      for (let i = 0; i < 50; i++) {
        store.addInboundQos2('c', i + 1);
        commits.push(store.commit());
      }
      await Promise.all(commits);
      const [s] = (await store.load()).sessions;
      assert.equal(s.inboundQos2.length, 50);
    }));
}
