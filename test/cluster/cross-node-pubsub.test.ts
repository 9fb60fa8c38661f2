/**
 * Cross-node publish/subscribe: two Pipit nodes in this process on a real redis-server,
 * MQTT.js clients on different nodes. QoS 0/1/2 for 3.1.1 and 5.0, once per subscription,
 * No Local, Retain As Published, subscription identifiers and message properties.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collectUntil, nextMessages } from '../helpers/broker.js';
import { type TestNode, TwoNodes, waitForRoute } from './cluster-nodes.js';
import type { RedisFixture } from './redis-fixture.js';

describe('cluster: cross-node publish and subscribe', () => {
  let nodes: TwoNodes;
  let redis: RedisFixture;
  let a: TestNode;
  let b: TestNode;
  const client = (node: TestNode, options: Parameters<TwoNodes['client']>[1] = {}) =>
    nodes.client(node, options);

  before(async () => {
    nodes = await TwoNodes.start();
    ({ redis, a, b } = nodes);
  });

  after(() => nodes.stop());

  it('gives the two nodes different node ids, each its own message id range', () => {
    assert.notEqual(a.nodeId, b.nodeId);
    assert.equal(a.broker.core.messageIds.nodeId, a.nodeId);
    assert.equal(b.broker.core.messageIds.nodeId, b.nodeId);
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`delivers QoS 0, 1 and 2 from a publisher on one node to a subscriber on the other (v${protocolVersion === 4 ? '3.1.1' : '5'})`, async () => {
      const topic = `qos/v${protocolVersion}`;
      const sub = await client(b, { protocolVersion });
      await sub.subscribeAsync(topic, { qos: 2 });
      await waitForRoute(a, b.nodeId, topic);
      const pub = await client(a, { protocolVersion });
      const got = nextMessages(sub, 3);
      await pub.publishAsync(topic, 'zero', { qos: 0 });
      await pub.publishAsync(topic, 'one', { qos: 1 });
      await pub.publishAsync(topic, 'two', { qos: 2 });
      const messages = await got;
      assert.deepEqual(
        messages.map((m) => [m.payload.toString(), m.packet.qos]),
        [
          ['zero', 0],
          ['one', 1],
          ['two', 2],
        ],
      );
    });
  }

  it('grants the lower QoS when the remote subscription asked for less [MQTT-3.8.4-8]', async () => {
    const sub = await client(b, { protocolVersion: 5 });
    await sub.subscribeAsync('low/qos', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'low/qos');
    const pub = await client(a, { protocolVersion: 5 });
    const got = nextMessages(sub, 1);
    await pub.publishAsync('low/qos', 'x', { qos: 2 });
    assert.equal((await got)[0]!.packet.qos, 1);
  });

  it('sends a message to a node once, and each subscription there gets it once, with every matching subscription identifier [MQTT-3.3.4-2] [MQTT-3.3.4-4]', async () => {
    const first = await client(b, { protocolVersion: 5 });
    const second = await client(b, { protocolVersion: 5 });
    await first.subscribeAsync('once/+', { qos: 1, properties: { subscriptionIdentifier: 1 } });
    await first.subscribeAsync('once/#', { qos: 1, properties: { subscriptionIdentifier: 2 } });
    await second.subscribeAsync('once/x', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'once/#');
    await waitForRoute(a, b.nodeId, 'once/x');
    const pub = await client(a, { protocolVersion: 5 });
    const before = a.broker.cluster!.status().outbox.forwarded;
    const firstGot = collectUntil(first, 'once/end');
    const secondGot = collectUntil(second, 'once/end');
    await second.subscribeAsync('once/end', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'once/end');
    const ids = nextMessages(first, 1);
    await pub.publishAsync('once/x', 'payload', { qos: 1 });
    const [message] = await ids;
    assert.deepEqual(
      [...((message!.packet.properties?.subscriptionIdentifier as number[]) ?? [])].sort(),
      [1, 2],
    );
    await pub.publishAsync('once/end', '', { qos: 1 });
    assert.equal((await firstGot).length, 1);
    assert.equal((await secondGot).length, 1);
    // One message per node however many of its subscriptions match (plus the sentinel).
    assert.equal(a.broker.cluster!.status().outbox.forwarded - before, 2);
  });

  it('does not send a message back to its publisher through a No Local subscription on its node, but to the other node [MQTT-3.8.3-3]', async () => {
    const publisher = await client(a, { protocolVersion: 5, clientId: 'nl-publisher' });
    await publisher.subscribeAsync('nl/t', { qos: 1, nl: true });
    await publisher.subscribeAsync('nl/end', { qos: 1 });
    const remote = await client(b, { protocolVersion: 5 });
    await remote.subscribeAsync('nl/t', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'nl/t');
    const own = collectUntil(publisher, 'nl/end');
    const other = nextMessages(remote, 1);
    await publisher.publishAsync('nl/t', 'mine', { qos: 1 });
    assert.equal((await other)[0]!.payload.toString(), 'mine');
    await publisher.publishAsync('nl/end', '', { qos: 1 });
    assert.deepEqual(await own, []);
  });

  it('keeps RETAIN as published only for Retain As Published subscriptions on the other node [MQTT-3.3.1-12] [MQTT-3.3.1-13]', async () => {
    const rap = await client(b, { protocolVersion: 5 });
    const plain = await client(b, { protocolVersion: 5 });
    // Subscribed before the publish: the message arrives as a live one, not as retained.
    await rap.subscribeAsync('rap/t', { qos: 1, rap: true });
    await plain.subscribeAsync('rap/t', { qos: 1, rap: false });
    await waitForRoute(a, b.nodeId, 'rap/t');
    const pub = await client(a, { protocolVersion: 5 });
    const rapGot = nextMessages(rap, 1);
    const plainGot = nextMessages(plain, 1);
    await pub.publishAsync('rap/t', 'kept', { qos: 1, retain: true });
    assert.equal((await rapGot)[0]!.packet.retain, true);
    assert.equal((await plainGot)[0]!.packet.retain, false);
  });

  it('forwards user properties, content type, correlation data and the remaining message expiry [MQTT-3.3.2-17] [MQTT-3.3.2-6]', async () => {
    const sub = await client(b, { protocolVersion: 5 });
    await sub.subscribeAsync('props/t', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'props/t');
    const pub = await client(a, { protocolVersion: 5 });
    const got = nextMessages(sub, 1);
    await pub.publishAsync('props/t', 'p', {
      qos: 1,
      properties: {
        userProperties: { team: 'blue' },
        contentType: 'text/plain',
        correlationData: Buffer.from([1, 2, 3]),
        messageExpiryInterval: 60,
      },
    });
    const properties = (await got)[0]!.packet.properties!;
    assert.deepEqual({ ...properties.userProperties }, { team: 'blue' });
    assert.equal(properties.contentType, 'text/plain');
    assert.deepEqual(properties.correlationData, Buffer.from([1, 2, 3]));
    assert.ok(properties.messageExpiryInterval! <= 60 && properties.messageExpiryInterval! > 0);
  });

  it('keeps the order of one publisher’s messages across nodes', async () => {
    const sub = await client(b, { protocolVersion: 4 });
    await sub.subscribeAsync('order/#', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'order/#');
    const pub = await client(a, { protocolVersion: 4 });
    const got = collectUntil(sub, 'order/end');
    for (let i = 0; i < 200; i++) pub.publish('order/t', String(i), { qos: i % 2 === 0 ? 0 : 1 });
    await pub.publishAsync('order/end', '', { qos: 1 });
    const payloads = (await got).map((m) => Number(m.payload.toString()));
    // Across QoS too, as on one node: without cluster.qos0Channel (the default) QoS 0 goes by
    // the inbox stream with QoS 1 (qos0-channel.test.ts has the option's order, per QoS).
    assert.deepEqual(
      payloads,
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it('sends nothing to Redis for a publish no other node wants', async () => {
    const pub = await client(a, { protocolVersion: 5 });
    const sub = await client(b, { protocolVersion: 5 });
    await sub.subscribeAsync('wanted/t', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'wanted/t');
    const before = await redis.commandCalls('xadd');
    for (let i = 0; i < 50; i++) await pub.publishAsync('unwanted/t', 'x', { qos: 1 });
    assert.equal(await redis.commandCalls('xadd'), before);
    const got = nextMessages(sub, 1);
    await pub.publishAsync('wanted/t', 'x', { qos: 1 });
    await got;
    assert.equal(await redis.commandCalls('xadd'), before + 1);
  });
});
