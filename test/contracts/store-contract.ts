/**
 * The BrokerStore contract: one suite every implementation (memory, SQLite, later Redis)
 * must pass. `runStoreContract(name, makeStore)` registers it under `describe(name)`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BrokerStore, StoredMessage } from '../../src/ports/index.js';
import { runDurableContract } from './store-contract-durable.js';
import { runQueueContract } from './store-contract-queue.js';
import {
  canonical,
  delivery,
  emptySession,
  plainMessage,
  richMessage,
  richWill,
  subscription,
} from './store-fixtures.js';

/** What the contract needs besides the port: forcing and observing message GC. */
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
    runBasicContract(makeStore);
    runMessageContract(makeStore);
    runRecordContract(makeStore);
    runQueueContract(makeStore);
    runDurableContract(makeStore);
  });
}

/** New store, sessions, subscriptions, client ids without a session. */
function runBasicContract(makeStore: MakeStore): void {
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

  test('sessions: put, update and delete; expiresAt absent while connected', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('a', 3600, undefined);
      store.putSession('b', 10, 1_700_000_000_000);
      store.putSession('b', 20, 1_700_000_005_000);
      store.putSession('gone', 5, undefined);
      store.deleteSession('gone');
      await store.commit();
      const { sessions } = await store.load();
      assert.deepEqual(canonical(sessions), [
        emptySession('a'),
        emptySession('b', { expiryInterval: 20, expiresAt: 1_700_000_005_000 }),
      ]);
    }));

  test('sessions: the owner is recorded, kept by later puts, and goes with the session', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('alice-dev', 60, undefined);
      store.setSessionOwner('alice-dev', { username: 'alice' });
      store.putSession('alice-dev', 60, 1_700_000_000_000); // disconnect: the owner stays
      store.putSession('anon', 60, undefined);
      store.setSessionOwner('anon', { username: null });
      store.putSession('legacy', 60, undefined); // never bound
      store.setSessionOwner('no-session', { username: 'x' }); // no record: no effect
      store.putSession('gone', 60, undefined);
      store.setSessionOwner('gone', { username: 'bob' });
      store.deleteSession('gone');
      store.putSession('gone', 60, undefined); // a new session under the same id: unbound
      await store.commit();
      const { sessions } = await store.load();
      assert.deepEqual(canonical(sessions), [
        emptySession('alice-dev', {
          expiryInterval: 60,
          expiresAt: 1_700_000_000_000,
          owner: { username: 'alice' },
        }),
        emptySession('anon', { expiryInterval: 60, owner: { username: null } }),
        emptySession('gone', { expiryInterval: 60 }),
        emptySession('legacy', { expiryInterval: 60 }),
      ]);
    }));

  test('subscriptions: every option round-trips; a filter is replaced, then deleted', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      const shared = subscription('$share/g/a/+', { qos: 2, subscriptionId: 268_435_455 });
      const opts = subscription('x/#', {
        qos: 0,
        noLocal: true,
        retainAsPublished: true,
        retainHandling: 2,
      });
      store.putSubscription('c', subscription('x/#'));
      store.putSubscription('c', opts); // same filter: replaces
      store.putSubscription('c', shared);
      store.putSubscription('c', subscription('drop/me'));
      store.deleteSubscription('c', 'drop/me');
      store.deleteSubscription('c', 'never/there');
      await store.commit();
      const [s] = (await store.load()).sessions;
      assert.deepEqual(canonical([s])[0].subscriptions, [shared, opts]);
    }));

  test('rows of a client id without a session are not loaded as a session', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSubscription('ghost', subscription('a'));
      store.addInboundQos2('ghost', 7);
      await store.commit();
      assert.deepEqual((await store.load()).sessions, []);
    }));
}

/** Messages and inflight entries. */
function runMessageContract(makeStore: MakeStore): void {
  test('messages round-trip exactly: binary payload, Buffer and pair properties, expiry, origin', () =>
    withStore(makeStore, async ({ store }) => {
      const rich = richMessage(1);
      const empty = { ...plainMessage(2), payload: Buffer.alloc(0) };
      store.putSession('c', 60, undefined);
      store.putMessage(rich);
      store.putMessage(empty);
      store.enqueue('c', delivery(1));
      store.enqueue('c', delivery(2));
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
      store.enqueue('c', delivery(5));
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
}

/** Inbound ids, wills, retained messages, cascades and commit. */
function runRecordContract(makeStore: MakeStore): void {
  test('inbound QoS 2 ids: add (idempotent), delete, load', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      for (const id of [7, 3, 7, 65535, 1]) store.addInboundQos2('c', id);
      store.deleteInboundQos2('c', 1);
      store.deleteInboundQos2('c', 2);
      await store.commit();
      const [s] = canonical((await store.load()).sessions);
      assert.deepEqual(s.inboundQos2, [3, 7, 65535]);
    }));

  test('wills: round-trip with properties, replaced, deleted; loaded without a session', () =>
    withStore(makeStore, async ({ store }) => {
      const will = richWill();
      const plainWill = {
        will: { topic: 'w', payload: Buffer.from('bye'), qos: 0 as const, retain: false },
      };
      store.putWill('a', will);
      store.putWill('b', plainWill);
      store.putWill('c', will);
      store.putWill('c', plainWill);
      store.putWill('d', will);
      store.deleteWill('d');
      await store.commit();
      const { wills } = await store.load();
      assert.deepEqual(
        [...wills.entries()].sort(([x], [y]) => (x < y ? -1 : 1)),
        [
          ['a', will],
          ['b', plainWill],
          ['c', plainWill],
        ],
      );
    }));

  test('retained: put, replace by topic, delete; lastMessageId counts them', () =>
    withStore(makeStore, async ({ store }) => {
      store.putRetained(plainMessage(3, 'old', 'r/1'));
      store.putRetained(richMessage(9, 'r/1'));
      store.putRetained(plainMessage(4, 'two', 'r/2'));
      store.putRetained(plainMessage(5, 'gone', 'r/3'));
      store.deleteRetained('r/3');
      store.deleteRetained('r/none');
      await store.commit();
      const state = await store.load();
      const retained = await retainedOf(store);
      assert.deepEqual(retained, [richMessage(9, 'r/1'), plainMessage(4, 'two', 'r/2')]);
      assert.equal(state.lastMessageId, 9);
    }));

  test('retained: the publisher round-trips, anonymous or named; absent stays absent', () =>
    withStore(makeStore, async ({ store }) => {
      const anonymous = { ...plainMessage(1, 'a', 'r/anon'), publisher: { listener: 'tcp' } };
      const named = {
        ...plainMessage(2, 'n', 'r/named'),
        publisher: { listener: 'ws', username: 'bob' },
      };
      store.putRetained(anonymous);
      store.putRetained(named);
      store.putRetained(plainMessage(3, 'h', 'r/host'));
      await store.commit();
      const byTopic = new Map((await retainedOf(store)).map((m) => [m.topic, m]));
      assert.deepEqual(byTopic.get('r/anon'), anonymous);
      assert.deepEqual(byTopic.get('r/named'), named);
      assert.equal(byTopic.get('r/host')?.publisher, undefined);
    }));

  test('loadRetained: topic order, expired ones deleted, the refused one and every later one deleted', () =>
    withStore(makeStore, async ({ store }) => {
      const expiring = (id: number, topic: string, expiresAt: number): StoredMessage => ({
        ...plainMessage(id, `e${id}`, topic),
        expiresAt,
      });
      store.putRetained(plainMessage(1, 'd', 'r/d'));
      store.putRetained(plainMessage(2, 'a', 'r/a'));
      store.putRetained(expiring(3, 'r/b', 1000));
      store.putRetained(plainMessage(4, 'c', 'r/c'));
      store.putRetained(expiring(5, 'r/e', 5000));
      store.putRetained(expiring(6, 'r/f', 900));
      await store.commit();
      const offered: string[] = [];
      const result = await store.loadRetained(1000, (message) => {
        offered.push(message.topic);
        return message.topic !== 'r/d';
      });
      // r/b (expires at 1000) and r/f are expired at 1000; r/d is refused, r/e comes after it.
      assert.deepEqual(offered, ['r/a', 'r/c', 'r/d']);
      assert.deepEqual(result, { restored: 2, expired: 2, dropped: 2 });
      await store.commit();
      assert.deepEqual(
        (await retainedOf(store)).map((m) => m.topic),
        ['r/a', 'r/c'],
        'what was not restored is gone from the store',
      );
    }));

  test('deleteSession cascades: subscriptions, queue, inflight, inbound ids and will', () =>
    withStore(makeStore, async ({ store }) => {
      for (const id of ['gone', 'kept']) {
        store.putSession(id, 60, undefined);
        store.putSubscription(id, subscription('a/+'));
        store.putMessage(plainMessage(id === 'gone' ? 1 : 2));
        store.enqueue(id, delivery(id === 'gone' ? 1 : 2));
        store.putInflight(id, {
          packetId: 1,
          state: 'publish',
          delivery: delivery(id === 'gone' ? 1 : 2),
        });
        store.addInboundQos2(id, 5);
        store.putWill(id, richWill());
      }
      store.deleteSession('gone');
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
      const again = canonical((await store.load()).sessions);
      assert.deepEqual(again[0], emptySession('gone', { expiryInterval: 60 }));
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
