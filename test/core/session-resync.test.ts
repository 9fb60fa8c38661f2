/**
 * A persistent session's stored state after store batches failed (a Redis master failover, a
 * full disk): what the session did meanwhile (QoS 2 exchanges moved on or completed, inbound
 * QoS 2 ids released, queue entries taken) changed memory only, and the store kept the state
 * before. Once the store works again the session's state is written again (after a pause, or
 * at once when the session leaves for another node), so that the node that reads it next (an
 * adopter after this node died, a restart) resends nothing completed. Before, the store kept
 * completed QoS 2 exchanges as "PUBLISH sent" and the next node resent them with DUP under
 * packet ids the client had freed: QoS 2 duplicates (the cluster's failover soak,
 * docs/cluster.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESYNC_DELAY_MS } from '../../src/core/session-resync.js';
import { flush, publishes } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FlakyStore } from '../helpers/flaky-memory-store.js';
import {
  connect,
  publishFromHost,
  qos2DuringFailure,
  startCore,
  storeBack,
  subscribe,
  summary,
} from '../helpers/resync-scenario.js';

/**
 * This node dies and another reads the session from the store (an adoption, a restart): it
 * resends the exchange at PUBREL as PUBREL and the unacknowledged one as PUBLISH with DUP, and
 * not the exchange completed while batches failed [MQTT-4.3.3-6].
 */
async function nextNodeResends(
  store: FlakyStore,
  core: Awaited<ReturnType<typeof startCore>>,
  ids: readonly number[],
): Promise<void> {
  core.close();
  const other = await startCore(store, new FakeClock());
  const back = await connect(other, 'sub');
  assert.deepEqual(summary(back.take()), [
    ['pubrel', ids[1]],
    ['publish', ids[2], true],
  ]);
  other.close();
}

describe('a session whose store batches failed has its stored state written again', () => {
  it('[MQTT-4.3.3-6] a QoS 2 exchange completed while batches failed is not resent as PUBLISH by the next node; one at PUBREL is resent as PUBREL', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const { ids } = await qos2DuringFailure(store, core, 'failing');
    await storeBack(store, core, clock);
    await nextNodeResends(store, core, ids);
  });

  it('written again after each pause until a batch of it is committed (the store still failing at the first)', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const { ids } = await qos2DuringFailure(store, core, 'failing');
    // The first pause passes with the store still down: that write fails too.
    clock.advance(RESYNC_DELAY_MS);
    await flush();
    await storeBack(store, core, clock);
    await nextNodeResends(store, core, ids);
  });

  it('written at once when the session is handed over to another node, without waiting for the pause', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const { sub, ids } = await qos2DuringFailure(store, core, 'failing');
    store.failing = false;
    sub.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    assert.equal(await core.registry.handOver('sub'), true);
    await core.persistence!.commit();
    await nextNodeResends(store, core, ids);
  });

  it('writes that landed though their commit was reported failed are written again harmlessly (each entry once)', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const { ids } = await qos2DuringFailure(store, core, 'failingCommits');
    await storeBack(store, core, clock);
    await nextNodeResends(store, core, ids);
  });

  it('[MQTT-4.3.3-12] an inbound QoS 2 id released while batches failed is free on the next node: a PUBLISH under it is a new message', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const sub = await connect(core, 'sub');
    await subscribe(sub, 'q/#', 1);
    const pub = await connect(core, 'pub');
    const send = (payload: string): void =>
      pub.send({
        type: 'publish',
        topic: 'q/a',
        payload: Buffer.from(payload),
        qos: 2,
        retain: false,
        dup: false,
        packetId: 7,
      });
    send('first');
    await flush();
    assert.deepEqual(summary(pub.take()), [['pubrec', 7]]);
    store.failing = true;
    pub.send({ type: 'pubrel', packetId: 7 });
    await flush();
    // The PUBCOMP waits for the store: its commit failed, the connection is closed.
    assert.deepEqual(summary(pub.take()), [['disconnect', undefined]]);
    await storeBack(store, core, clock);
    // The publisher comes back here and sends its PUBREL again: the id is released already.
    const again = await connect(core, 'pub');
    again.send({ type: 'pubrel', packetId: 7 });
    await flush();
    assert.deepEqual(summary(again.take()), [['pubcomp', 7]]);
    core.close();
    const other = await startCore(store, new FakeClock());
    const subBack = await connect(other, 'sub');
    subBack.take();
    const pubBack = await connect(other, 'pub');
    pubBack.send({
      type: 'publish',
      topic: 'q/a',
      payload: Buffer.from('second'),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 7,
    });
    await flush();
    await other.persistence!.commit();
    await flush();
    assert.deepEqual(
      publishes(subBack.take()).map((p) => p.payload.toString()),
      ['second'],
    );
    other.close();
  });

  it('queued messages taken and acknowledged while batches failed are not sent again by the next node', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const sub = await connect(core, 'sub');
    await subscribe(sub, 'q/#', 1);
    sub.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    for (const n of ['1', '2']) await publishFromHost(core, n, 1);
    store.failing = true;
    const back = await connect(core, 'sub');
    const got = publishes(back.take());
    assert.deepEqual(
      got.map((p) => p.payload.toString()),
      ['1', '2'],
    );
    for (const p of got) back.send({ type: 'puback', packetId: p.packetId! });
    await flush();
    await storeBack(store, core, clock);
    core.close();
    const other = await startCore(store, new FakeClock());
    const again = await connect(other, 'sub');
    await flush();
    assert.deepEqual(summary(again.take()), []);
    assert.equal(other.sessions.get('sub')?.queuedCount, 0);
    other.close();
  });
});
