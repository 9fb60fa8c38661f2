/** The store contract, session port: records, owners, subscriptions, inbound QoS 2 ids, wills. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredSessionRecord } from '../../src/ports/index.js';
import type { MakeStore } from './store-contract.js';
import { withStore } from './store-contract.js';
import { canonical, delivery, plainMessage, richWill, subscription } from './store-fixtures.js';

/** A session record as `loadSessions` returns it, empty unless overridden. */
function record(clientId: string, extra: Partial<StoredSessionRecord> = {}): StoredSessionRecord {
  return { clientId, expiryInterval: 3600, subscriptions: [], inboundQos2: [], ...extra };
}

/** Registers the session port's tests. */
export function runSessionContract(makeStore: MakeStore): void {
  runRecordContract(makeStore);
  runPartsContract(makeStore);
}

/** Session records and their owners, read all at once or one client at a time. */
function runRecordContract(makeStore: MakeStore): void {
  test('sessions: put, update and delete; expiresAt absent while connected', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('a', 3600, undefined);
      store.putSession('b', 10, 1_700_000_000_000);
      store.putSession('b', 20, 1_700_000_005_000);
      store.putSession('gone', 5, undefined);
      store.deleteSession('gone');
      await store.commit();
      assert.deepEqual(canonical(await store.loadSessions()), [
        record('a'),
        record('b', { expiryInterval: 20, expiresAt: 1_700_000_005_000 }),
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
      assert.deepEqual(canonical(await store.loadSessions()), [
        record('alice-dev', {
          expiryInterval: 60,
          expiresAt: 1_700_000_000_000,
          owner: { username: 'alice' },
        }),
        record('anon', { expiryInterval: 60, owner: { username: null } }),
        record('gone', { expiryInterval: 60 }),
        record('legacy', { expiryInterval: 60 }),
      ]);
    }));

  test('loadSession: one client with its subscriptions, owner and inbound ids; undefined without a record', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 120, 1_700_000_000_000);
      store.setSessionOwner('c', { username: 'alice' });
      store.putSubscription('c', subscription('b/#', { qos: 2 }));
      store.putSubscription('c', subscription('a/+', { subscriptionId: 9 }));
      store.addInboundQos2('c', 9);
      store.addInboundQos2('c', 3);
      store.putSession('other', 60, undefined);
      store.putSubscription('other', subscription('x'));
      store.putSubscription('ghost', subscription('y')); // no session record
      // Read-your-writes: before the commit as after it.
      for (const phase of ['before commit', 'after commit']) {
        const loaded = await store.loadSession('c');
        assert.ok(loaded !== undefined, phase);
        assert.deepEqual(
          canonical([loaded])[0],
          record('c', {
            expiryInterval: 120,
            expiresAt: 1_700_000_000_000,
            owner: { username: 'alice' },
            subscriptions: [
              subscription('a/+', { subscriptionId: 9 }),
              subscription('b/#', { qos: 2 }),
            ],
            inboundQos2: [3, 9],
          }),
          phase,
        );
        assert.equal(await store.loadSession('ghost'), undefined, phase);
        assert.equal(await store.loadSession('nobody'), undefined, phase);
        await store.commit();
      }
    }));

  test('deleteSession leaves the queue and inflight entries to the message port', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      store.putMessage(plainMessage(1));
      store.enqueue('c', 1, delivery(1));
      store.putInflight('c', { packetId: 2, state: 'publish', delivery: delivery(1) });
      store.deleteSession('c');
      await store.commit();
      assert.equal(await store.loadSession('c'), undefined);
      const { state } = await store.loadQueue('c');
      assert.equal(state.queuedCount, 1);
      assert.equal(state.inflight.length, 1);
    }));
}

/** Subscriptions, inbound QoS 2 ids and wills. */
function runPartsContract(makeStore: MakeStore): void {
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
      const [s] = await store.loadSessions();
      assert.deepEqual(canonical([s])[0].subscriptions, [shared, opts]);
    }));

  test('rows of a client id without a session are not loaded as a session', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSubscription('ghost', subscription('a'));
      store.addInboundQos2('ghost', 7);
      await store.commit();
      assert.deepEqual(await store.loadSessions(), []);
    }));

  test('inbound QoS 2 ids: add (idempotent), delete, load', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      for (const id of [7, 3, 7, 65535, 1]) store.addInboundQos2('c', id);
      store.deleteInboundQos2('c', 1);
      store.deleteInboundQos2('c', 2);
      await store.commit();
      const [s] = canonical(await store.loadSessions());
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
      const wills = await store.loadWills();
      assert.deepEqual(
        [...wills.entries()].sort(([x], [y]) => (x < y ? -1 : 1)),
        [
          ['a', will],
          ['b', plainWill],
          ['c', plainWill],
        ],
      );
    }));

  test('deleteSession takes the will with it', () =>
    withStore(makeStore, async ({ store }) => {
      store.putSession('c', 60, undefined);
      store.putWill('c', richWill());
      store.putWill('other', richWill());
      store.deleteSession('c');
      await store.commit();
      assert.deepEqual([...(await store.loadWills()).keys()], ['other']);
    }));
}
