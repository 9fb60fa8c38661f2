/**
 * [MQTT-4.3.3-9] A message published at QoS 2 goes onward only after the store has made
 * durable what routing it wrote (the inbound packet id among it). If subscribers got it
 * before that commit, a crash in between would let the publisher's resend, unknown to the
 * restarted broker, deliver it twice. Here the store's commit is held open by the test:
 * nothing of the QoS 2 message may reach a subscriber until it is released. The subscribers
 * take it at QoS 1 (persistent session) and at QoS 2 (clean session): a QoS 2 delivery to a
 * persistent session already waits for its own inflight entry to be stored (session.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerCore } from '../../src/core/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { FakeClient, flush, publishes, publish as publishFields } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A memory store whose commits wait, once the test holds them, until it releases them. */
class GatedStore extends MemoryStore {
  private waiting: (() => void)[] = [];
  gateOpen = true;

  override commit(): Promise<void> {
    if (this.gateOpen) return super.commit();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Lets every commit through, those waiting and those to come. */
  release(): void {
    this.gateOpen = true;
    for (const release of this.waiting.splice(0)) release();
  }
}

async function setup(): Promise<{
  store: GatedStore;
  pub: FakeClient;
  sub: FakeClient;
  clean: FakeClient;
}> {
  const store = new GatedStore();
  const core = new BrokerCore({ options: {}, clock: new FakeClock(), store });
  await core.start();
  const sub = new FakeClient(core, 5);
  // A session that outlives the connection, so its subscriptions and inflight are stored.
  sub.connect({ clientId: 'sub', properties: { sessionExpiryInterval: 60 } });
  await flush();
  sub.take();
  const pub = new FakeClient(core, 5);
  pub.connect({ clientId: 'pub', properties: { sessionExpiryInterval: 60 } });
  await flush();
  pub.take();
  await subscribe(sub, 'q2', 1);
  await subscribe(sub, 'q0', 0);
  await subscribe(sub, 'q1', 1);
  const clean = new FakeClient(core, 5);
  clean.connect({ clientId: 'clean' });
  await flush();
  clean.take();
  await subscribe(clean, 'q2', 2);
  store.gateOpen = false;
  return { store, pub, sub, clean };
}

/** Subscribes and waits for the SUBACK (it follows the commit of the stored subscription). */
async function subscribe(client: FakeClient, filter: string, qos: 0 | 1 | 2): Promise<void> {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  await flush();
  const [suback] = client.take();
  assert.ok(suback?.type === 'suback');
  assert.deepEqual(suback.reasonCodes, [qos]);
}

/** A PUBLISH on `topic` (its payload the topic unless given) through the shared helper. */
function publish(
  client: FakeClient,
  topic: string,
  qos: 0 | 1 | 2,
  packetId?: number,
  payload = topic,
): void {
  publishFields(client, { topic, qos, packetId, payload: Buffer.from(payload) });
}

describe('QoS 2 messages go onward after the commit', () => {
  it('[MQTT-4.3.3-8] (v5) a QoS 2 message reaches no subscriber (and no PUBREC) before its commit', async () => {
    const { store, pub, sub, clean } = await setup();
    publish(pub, 'q2', 2, 7);
    await flush();
    assert.deepEqual(publishes(sub.take()), [], 'held while the commit is pending');
    assert.deepEqual(publishes(clean.take()), [], 'held for the clean session too');
    assert.deepEqual(pub.take(), [], 'no PUBREC either');
    store.release();
    await flush();
    const [got] = publishes(sub.take());
    assert.equal(got?.topic, 'q2');
    assert.equal(got?.qos, 1);
    const [toClean] = publishes(clean.take());
    assert.equal(toClean?.qos, 2);
    assert.deepEqual(
      pub.take().map((p) => p.type),
      ['pubrec'],
    );
  });

  it('[MQTT-4.6.0-5] (v5) later messages to the same subscriber wait behind a held one, in order', async () => {
    const { store, pub, sub } = await setup();
    publish(pub, 'q2', 2, 8, 'first');
    publish(pub, 'q2', 2, 10, 'second');
    publish(pub, 'q0', 0);
    await flush();
    assert.deepEqual(publishes(sub.take()), [], 'the QoS 0 message queues behind the QoS 2 ones');
    store.release();
    await flush();
    assert.deepEqual(
      publishes(sub.take()).map((p) => `${p.topic}:${p.payload.toString()}`),
      ['q2:first', 'q2:second', 'q0:q0'],
    );
  });

  it('QoS 0 and QoS 1 messages alone are not held (only the PUBACK waits for the commit)', async () => {
    const { store, pub, sub } = await setup();
    publish(pub, 'q0', 0);
    publish(pub, 'q1', 1, 9);
    await flush();
    assert.deepEqual(
      publishes(sub.take()).map((p) => p.topic),
      ['q0', 'q1'],
    );
    assert.deepEqual(pub.take(), [], 'the PUBACK waits for the commit');
    store.release();
    await flush();
    assert.deepEqual(
      pub.take().map((p) => p.type),
      ['puback'],
    );
  });

  it('a held message still counts against the socket buffer limit', async () => {
    const store = new GatedStore();
    const core = new BrokerCore({
      // Dropping at once (no publisher held) shows what counts against the limit.
      options: { maxSocketBufferBytes: 100, qos0DrainWaitMs: 0 },
      clock: new FakeClock(),
      store,
    });
    await core.start();
    const sub = new FakeClient(core, 5);
    sub.connect({ clientId: 's', properties: { sessionExpiryInterval: 60 } });
    await flush();
    sub.take();
    await subscribe(sub, 'q2', 1);
    await subscribe(sub, 'q0', 0);
    const pub = new FakeClient(core, 5);
    pub.connect({ clientId: 'p' });
    pub.take();
    await flush();
    store.gateOpen = false;
    publishFields(pub, { topic: 'q2', qos: 2, packetId: 1, payload: Buffer.alloc(200) });
    publish(pub, 'q0', 0);
    assert.equal(core.metrics.dropped['socket-congested'], 1, 'QoS 0 dropped: 200 bytes held');
    store.release();
    await flush();
    assert.deepEqual(
      publishes(sub.take()).map((p) => p.topic),
      ['q2'],
    );
  });
});

/**
 * A store that, like SQLite's group commit, settles `commit()` at once when nothing was written
 * since its last commit, and holds a commit with writes pending until the test releases it.
 */
class EagerStore extends MemoryStore {
  private dirty = false;
  private waiting: (() => void)[] = [];
  hold = false;

  override addInboundQos2(clientId: string, packetId: number): void {
    this.dirty = true;
    super.addInboundQos2(clientId, packetId);
  }

  override commit(): Promise<void> {
    if (!this.dirty || !this.hold) return super.commit();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    this.hold = false;
    this.dirty = false;
    for (const release of this.waiting.splice(0)) release();
  }
}

describe('QoS 2 onward when routing itself writes nothing', () => {
  it('[MQTT-4.3.3-9] (v5) a clean QoS 0 subscriber gets the copy only once the inbound id is committed', async () => {
    const store = new EagerStore();
    const core = new BrokerCore({ options: {}, clock: new FakeClock(), store });
    await core.start();
    const pub = new FakeClient(core, 5);
    pub.connect({ clientId: 'pub', properties: { sessionExpiryInterval: 60 } });
    await flush();
    pub.take();
    const clean = new FakeClient(core, 5);
    clean.connect({ clientId: 'clean' });
    await flush();
    clean.take();
    await subscribe(clean, 'z/1', 0);
    store.hold = true;
    // Routing stores nothing for a clean QoS 0 subscriber; the PUBREC's step then stores the
    // inbound id. The copy must wait for that commit, not for the empty one before it.
    publish(pub, 'z/1', 2, 5);
    await flush();
    assert.deepEqual(publishes(clean.take()), [], 'held until the inbound id is committed');
    assert.deepEqual(pub.take(), [], 'no PUBREC either');
    store.release();
    await flush();
    assert.deepEqual(
      publishes(clean.take()).map((p) => `${p.topic}:${p.qos}`),
      ['z/1:0'],
    );
    assert.deepEqual(
      pub.take().map((p) => p.type),
      ['pubrec'],
    );
    await core.close();
  });
});
