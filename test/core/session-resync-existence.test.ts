/**
 * What memory says of a session besides its content, written again after the store batch
 * that wrote it failed (session-resync.ts): the session's deletion (ended, or discarded by a
 * clean start), its will (stored with its due time, or cancelled), and its record's expiry.
 * Before, the store kept the old state: a deleted session came back with its subscriptions
 * and queue on the next node, a clean start's new queue was numbered among the old stored
 * entries, a delayed will was stored as its connection's (sent at once after a restart) and
 * a cancelled one stayed stored (sent by the next node though the session resumed in time).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BrokerCore, StoredSessionLoader } from '../../src/core/index.js';
import { FakeClient, flush, publishes } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FlakyStore } from '../helpers/flaky-memory-store.js';
import {
  connect,
  publishFromHost,
  receive,
  startCore,
  storeBack,
  subscribe,
} from '../helpers/resync-scenario.js';

/** Connects `clientId` with Clean Start and `expiry`; returns the client and Session Present. */
async function connectClean(
  core: BrokerCore,
  clientId: string,
  expiry: number,
): Promise<{ client: FakeClient; present: boolean }> {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, clean: true, properties: { sessionExpiryInterval: expiry } });
  const [connack] = await receive(client, 1);
  assert.ok(connack?.type === 'connack' && connack.reasonCode === 0, 'CONNACK 0x00');
  return { client, present: connack.sessionPresent };
}

/** Connects `clientId` without Clean Start; returns Session Present. */
async function present(core: BrokerCore, clientId: string): Promise<boolean> {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });
  const [connack] = await receive(client, 1);
  assert.ok(connack?.type === 'connack' && connack.reasonCode === 0, 'CONNACK 0x00');
  return connack.sessionPresent;
}

/** Another node reads `sub`'s session from `store` (an adoption, a restart): what it delivers. */
async function nextNodeDelivers(store: FlakyStore): Promise<string[]> {
  const other = await startCore(store, new FakeClock());
  const back = await connect(other, 'sub');
  await flush();
  const payloads = publishes(back.take()).map((p) => p.payload.toString());
  other.close();
  return payloads;
}

/** A persistent subscriber of `q/#` (QoS 1), gone, with `queued` messages waiting for it. */
async function offlineWithQueue(core: BrokerCore, queued: string[]): Promise<void> {
  const sub = await connect(core, 'sub');
  await subscribe(sub, 'q/#', 1);
  sub.send({ type: 'disconnect', reasonCode: 0 });
  await flush();
  for (const payload of queued) await publishFromHost(core, payload, 1);
  assert.equal(core.sessions.get('sub')?.queuedCount, queued.length);
}

const WILL = {
  topic: 'w/gone',
  payload: Buffer.from('gone'),
  qos: 1 as const,
  retain: false,
  properties: { willDelayInterval: 60 },
};

describe('a session deleted in a failed batch is deleted again', () => {
  it('[MQTT-3.1.2-4] a clean start whose deletion failed leaves none of the old session: the store holds exactly the new one', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    await offlineWithQueue(core, ['old-1', 'old-2']);
    store.failing = true;
    const { client, present: wasPresent } = await connectClean(core, 'sub', 3600);
    assert.equal(wasPresent, false);
    // The new session subscribes elsewhere and leaves, still while batches fail.
    await subscribe(client, 'r/#', 1);
    client.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    await storeBack(store, core, clock);
    // The new session's queue numbers its entries from 1: no old entry may hold one.
    await core.publishFromHost({ topic: 'r/a', payload: 'new-1', qos: 1 });
    await core.persistence!.commit();
    const stored = await core.persistence!.loadSession('sub');
    assert.deepEqual(
      stored?.session.subscriptions.map((s) => s.filter),
      ['r/#'],
    );
    assert.equal(stored?.session.queuedCount, 1);
    core.close();
    // Another node reads the session (an adoption, a restart): the new one only.
    assert.deepEqual(await nextNodeDelivers(store), ['new-1']);
  });

  it('[MQTT-3.1.2-4] the old queue is gone though new entries were queued while the batches failed', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    await offlineWithQueue(core, ['old-1', 'old-2', 'old-3']);
    store.failing = true;
    const { client } = await connectClean(core, 'sub', 3600);
    await subscribe(client, 'r/#', 1);
    client.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    await core.publishFromHost({ topic: 'r/a', payload: 'new-1', qos: 1 });
    await core.persistence!.commit().catch(() => {});
    await flush();
    await storeBack(store, core, clock);
    core.close();
    assert.deepEqual(await nextNodeDelivers(store), ['new-1']);
  });

  it('a session ended while batches failed (a clean start with no expiry, then gone) does not come back on the next node', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    await offlineWithQueue(core, ['old-1']);
    store.failing = true;
    const { client } = await connectClean(core, 'sub', 0);
    client.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    assert.equal(core.sessions.get('sub'), undefined);
    await storeBack(store, core, clock);
    assert.equal(await core.persistence!.loadSession('sub'), undefined);
    core.close();
    const other = await startCore(store, new FakeClock());
    assert.equal(await present(other, 'sub'), false);
    other.close();
  });

  it('a session ended while batches failed is not read back by its client connecting again before the pause (sessions read per client, as a cluster node does)', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    core.registry.loadWith(new StoredSessionLoader(core, core.persistence!));
    await offlineWithQueue(core, ['old-1']);
    store.failing = true;
    const { client } = await connectClean(core, 'sub', 0);
    client.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    assert.equal(core.sessions.get('sub'), undefined);
    // The store answers again; the client connects before the resync's pause has passed.
    store.failing = false;
    const back = new FakeClient(core, 5);
    back.connect({ clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 3600 } });
    const [connack] = await receive(back, 1);
    assert.ok(connack?.type === 'connack' && connack.reasonCode === 0, 'CONNACK 0x00');
    assert.equal(connack.sessionPresent, false);
    await flush();
    assert.deepEqual(publishes(back.take()), []);
    core.close();
  });
});

describe('a will written in a failed batch is written again as memory holds it', () => {
  it('[MQTT-3.1.3-9] a delayed will is stored with its due time, so the next node waits for it', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const client = new FakeClient(core, 5);
    client.connect({
      clientId: 'w',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: WILL,
    });
    await receive(client, 1);
    await flush();
    store.failing = true;
    const lostAt = clock.now();
    client.connection.transportClosed();
    await flush();
    await storeBack(store, core, clock);
    const will = (await store.loadWills()).get('w');
    assert.equal(will?.dueAt, lostAt + 60_000);
    core.close();
  });

  it('[MQTT-3.1.3-9] a will cancelled by the session resuming in time is not stored any more', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const client = new FakeClient(core, 5);
    client.connect({
      clientId: 'w',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: WILL,
    });
    await receive(client, 1);
    await flush();
    client.connection.transportClosed();
    await flush();
    await core.persistence!.commit();
    assert.equal((await store.loadWills()).get('w')?.dueAt, clock.now() + 60_000);
    store.failing = true;
    await connect(core, 'w');
    await storeBack(store, core, clock);
    assert.equal((await store.loadWills()).has('w'), false);
    core.close();
  });
});

describe("a session record's expiry written in a failed batch is written again", () => {
  it('expiresAt, set when the connection ended, is stored', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const sub = await connect(core, 'sub');
    await subscribe(sub, 'q/#', 1);
    store.failing = true;
    const leftAt = clock.now();
    sub.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    await storeBack(store, core, clock);
    assert.equal((await store.loadSession('sub'))?.expiresAt, leftAt + 3600_000);
    core.close();
  });
});
