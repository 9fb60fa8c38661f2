/**
 * Retained messages on subscribe under output backpressure, on a fake clock: they go out as
 * the client reads (never dropped by the QoS 0 congestion policy), in order, after what was
 * queued before the SUBSCRIBE and before what is routed after it; what waits is bounded per
 * session; a persistent session whose client leaves keeps the QoS 1/2 ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore, CoreOptions } from '../../src/core/index.js';
import type {
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubscriptionRequest,
} from '../../src/protocol/index.js';
import { createTestCore, FakeClient, flush, publishes } from '../helpers/core-harness.js';

function connect(
  core: BrokerCore,
  clientId: string,
  properties?: Properties,
  version: ProtocolVersion = 5,
): FakeClient {
  const client = new FakeClient(core, version);
  client.connect({ clientId, properties, clean: properties?.sessionExpiryInterval === undefined });
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack' && connack.reasonCode === 0, 'CONNACK 0x00');
  return client;
}

function subscribe(client: FakeClient, filter: string, qos: QoS, packetId = 1): void {
  sendSubscribe(client, filter, qos, packetId);
  takeSuback(client);
}

/** {@link subscribe} for a persistent session: with a store, its SUBACK waits for the commit. */
async function subscribeSettled(client: FakeClient, filter: string, qos: QoS): Promise<void> {
  sendSubscribe(client, filter, qos, 1);
  await flush();
  takeSuback(client);
}

function sendSubscribe(client: FakeClient, filter: string, qos: QoS, packetId: number): void {
  const request: SubscriptionRequest = {
    filter,
    qos,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
  };
  client.send({ type: 'subscribe', packetId, subscriptions: [request] });
}

function takeSuback(client: FakeClient): void {
  assert.equal(client.received[0]?.type, 'suback', '[MQTT-3.8.4-1] SUBACK comes first');
  client.received.shift();
}

/** Publishes `count` retained messages r/0 ... r/(count-1) with a 20-byte payload. */
function retainMany(core: BrokerCore, count: number, qos: QoS = 0, expiry?: number): void {
  const pub = connect(core, 'retainer');
  for (let i = 0; i < count; i++) {
    pub.send({
      type: 'publish',
      topic: `r/${i}`,
      payload: Buffer.alloc(20, i),
      qos,
      retain: true,
      dup: false,
      packetId: qos > 0 ? 1 : undefined,
      properties: expiry === undefined ? undefined : { messageExpiryInterval: expiry },
    });
  }
  pub.send({ type: 'disconnect', reasonCode: 0 });
}

/** Reads (drains) until nothing more comes; returns every PUBLISH received meanwhile. */
function readAll(client: FakeClient): PublishPacket[] {
  const got: PublishPacket[] = [];
  for (let round = 0; round < 10_000; round++) {
    got.push(...publishes(client.take()));
    if (client.drainWaiter === undefined) return got;
    client.drainOutput();
  }
  throw new Error('the output never stopped');
}

/** Topics of the retained messages matching `filter`, in the order the broker sends them. */
function retainedOrder(core: BrokerCore, filter: string): string[] {
  return core.retained.match(filter, core.clock.now()).map((m) => m.topic);
}

function setup(options: Partial<CoreOptions>) {
  return createTestCore({ maxSocketBufferBytes: 200, ...options });
}

describe('core: retained messages as the client reads', () => {
  it('[MQTT-3.3.1-9] retained messages go out as the client reads, none dropped by the QoS 0 congestion policy', async () => {
    const { core, admin } = setup({});
    retainMany(core, 100);
    const sub = connect(core, 'sub');
    sub.reading = false;
    subscribe(sub, 'r/#', 0);
    const first = publishes(sub.take());
    assert.ok(first.length > 0 && first.length < 100, `${first.length} sent before the bound`);
    assert.ok(sub.drainWaiter !== undefined, 'waits for the client to read');
    const all = [...first, ...readAll(sub)];
    assert.equal(all.length, 100);
    assert.equal(new Set(all.map((p) => p.topic)).size, 100, 'each topic once');
    assert.ok(
      all.every((p) => p.retain),
      '[MQTT-3.3.1-8] RETAIN set',
    );
    assert.equal(core.metrics.dropped['socket-congested'], 0);
    assert.equal((await admin.client('sub'))?.retainedBacklog, 0);
  });

  it('a client that reads gets them in batches of 1024, one per turn, so other connections are served meanwhile', () => {
    const { core } = setup({ maxSocketBufferBytes: 64 * 1024 * 1024 });
    retainMany(core, 3000);
    const sub = connect(core, 'sub');
    subscribe(sub, 'r/#', 0);
    assert.equal(publishes(sub.take()).length, 1024);
    assert.equal(sub.paused, false, 'reading is not held for a batch');
    assert.ok(sub.drainWaiter !== undefined, 'the rest once the transport took the batch');
    sub.drainOutput();
    assert.equal(publishes(sub.take()).length, 1024);
    sub.drainOutput();
    assert.equal(publishes(sub.take()).length, 952);
    assert.equal(core.metrics.outputHolds, 0);
  });

  it('[MQTT-4.6.0-6] a live message routed after the SUBSCRIBE comes after the retained message of its topic', () => {
    const { core } = setup({});
    retainMany(core, 100);
    const sub = connect(core, 'sub');
    sub.reading = false;
    subscribe(sub, 'r/#', 0);
    const pub = connect(core, 'live');
    const pending = publishes(sub.take());
    const unsent = Array.from({ length: 100 }, (_, i) => `r/${i}`).find(
      (t) => !pending.some((p) => p.topic === t),
    )!;
    pub.send({
      type: 'publish',
      topic: unsent,
      payload: Buffer.from('live'),
      qos: 0,
      retain: false,
      dup: false,
    });
    const all = [...pending, ...readAll(sub)];
    const onTopic = all.filter((p) => p.topic === unsent).map((p) => p.payload.toString());
    assert.equal(onTopic.length, 2);
    assert.notEqual(onTopic[0], 'live', 'the retained one first');
    assert.equal(onTopic[1], 'live');
    assert.equal(all.at(-1)?.payload.toString(), 'live', 'after every retained message');
    assert.equal(core.metrics.dropped['socket-congested'], 0, 'the live QoS 0 waited too');
  });

  it('deliveries queued before the SUBSCRIBE go out before its retained messages', () => {
    const { core } = setup({});
    retainMany(core, 3);
    const sub = connect(core, 'sub', { receiveMaximum: 1 });
    subscribe(sub, 'q', 1);
    const pub = connect(core, 'pub');
    for (const id of [1, 2]) {
      pub.send({
        type: 'publish',
        topic: 'q',
        payload: Buffer.from(`q${id}`),
        qos: 1,
        retain: false,
        dup: false,
        packetId: id,
      });
    }
    const [inflight] = publishes(sub.take());
    assert.equal(inflight?.payload.toString(), 'q1'); // q2 waits for the window
    subscribe(sub, 'r/#', 0, 2);
    assert.deepEqual(publishes(sub.take()), [], 'the retained messages wait behind q2');
    sub.send({ type: 'puback', packetId: inflight.packetId! });
    const next = publishes(sub.take());
    assert.deepEqual(
      next.map((p) => p.topic),
      ['q', ...retainedOrder(core, 'r/#')],
    );
    assert.equal(next[0]?.payload.toString(), 'q2');
  });

  it('QoS 1 retained messages respect the inflight window as well as the output bound', () => {
    const { core } = setup({ maxSocketBufferBytes: 1_000_000 });
    retainMany(core, 5, 1);
    const sub = connect(core, 'sub', { receiveMaximum: 2 });
    subscribe(sub, 'r/#', 1);
    const seen: PublishPacket[] = [];
    for (let round = 0; round < 10; round++) {
      const batch = publishes(sub.take());
      assert.ok(batch.length <= 2, '[MQTT-3.3.4-9] never more than Receive Maximum in flight');
      seen.push(...batch);
      for (const p of batch) sub.send({ type: 'puback', packetId: p.packetId! });
    }
    assert.equal(seen.length, 5);
  });

  it('the retained messages waiting per session are bounded by maxRetainedMessages; the rest are counted, not sent', async () => {
    const { core, admin } = setup({ maxRetainedMessages: 10, maxSocketBufferBytes: 1_000_000 });
    retainMany(core, 10, 1);
    // A client that reads but never acknowledges: its window stays full, its backlog waits.
    const sub = connect(core, 'greedy', { receiveMaximum: 1 });
    subscribe(sub, 'r/#', 1);
    assert.equal(publishes(sub.take()).length, 1);
    assert.equal((await admin.client('greedy'))?.retainedBacklog, 9);
    subscribe(sub, 'r/+', 1, 2);
    assert.equal((await admin.client('greedy'))?.retainedBacklog, 10);
    assert.equal(core.metrics.dropped['retained-backlog'], 9);
    assert.equal(core.metrics.refused['retained-backlog'], 1);
  });

  it('[MQTT-3.3.2-5] a retained message that expires while waiting is not sent', () => {
    const { core, clock } = setup({});
    retainMany(core, 30, 0, 10);
    const sub = connect(core, 'sub');
    sub.reading = false;
    subscribe(sub, 'r/#', 0);
    const first = publishes(sub.take()).length;
    clock.advance(11_000);
    assert.equal(readAll(sub).length, 0);
    assert.equal(core.metrics.dropped.expired, 30 - first);
  });

  it('a persistent session whose client leaves keeps the QoS 1 retained messages not sent, except those a newer queued message supersedes', async () => {
    const { core } = setup({ maxSocketBufferBytes: 1_000_000 });
    retainMany(core, 4, 1);
    const sub = connect(core, 'keeper', { sessionExpiryInterval: 300, receiveMaximum: 1 });
    await subscribeSettled(sub, 'r/#', 1);
    const order = retainedOrder(core, 'r/#');
    const [first] = publishes(sub.take());
    assert.equal(first?.topic, order[0]);
    const pub = connect(core, 'pub');
    pub.send({
      type: 'publish',
      topic: order[2]!,
      payload: Buffer.from('newer'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
    });
    sub.send({ type: 'disconnect', reasonCode: 0 });
    assert.equal(core.metrics.dropped['retained-backlog'], 1, 'the older one is superseded');
    const back = connect(core, 'keeper', { sessionExpiryInterval: 300, receiveMaximum: 10 });
    await flush();
    const again = publishes(back.take());
    assert.deepEqual(
      again.map((p) => `${p.topic} ${p.payload.toString() === 'newer' ? 'newer' : 'retained'}`),
      [`${order[0]} retained`, `${order[2]} newer`, `${order[1]} retained`, `${order[3]} retained`],
    );
    assert.equal(again[0]?.dup, true, '[MQTT-4.4.0-1] the unacknowledged one is resent with DUP');
  });
});
