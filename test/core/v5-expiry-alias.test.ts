/**
 * MQTT 5 Message Expiry Interval and Topic Aliases (both directions), driven through the core
 * harness so fake time and exact packets are in the test's hands.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  connectV5,
  createTestCore,
  FakeClient,
  flush,
  publish,
  publishes,
  subscribe,
  subscribeSettled,
} from '../helpers/core-harness.js';

function disconnectCode(client: FakeClient): number | undefined {
  const packet = client.take().find((p) => p.type === 'disconnect');
  assert.ok(packet?.type === 'disconnect', 'a DISCONNECT was sent');
  assert.equal(client.ended, true, 'the connection was closed');
  return packet.reasonCode;
}

describe('core v5: message expiry', () => {
  it('[MQTT-3.3.2-6] forwards the interval unchanged when delivered at once', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, 't', 1);
    const pub = connectV5(core, 'pub');
    publish(pub, { qos: 1, properties: { messageExpiryInterval: 60 } });
    const [got] = publishes(sub.take());
    assert.equal(got?.properties?.messageExpiryInterval, 60);
  });

  it('[MQTT-3.3.2-6] a queued message is forwarded with the interval minus the time it waited', async () => {
    const { core, clock } = createTestCore();
    const sub = connectV5(core, 'sub', { sessionExpiryInterval: 300 });
    await subscribeSettled(sub, 't', 1);
    sub.connection.transportClosed();
    const pub = connectV5(core, 'pub');
    publish(pub, { qos: 1, properties: { messageExpiryInterval: 60 } });
    clock.advance(25_000);
    const back = connectV5(core, 'sub', { sessionExpiryInterval: 300 }, { clean: false });
    await flush(); // a stored queue is paged in from the store
    const [got] = publishes(back.received);
    assert.ok(got, 'the queued message was delivered');
    assert.equal(got.properties?.messageExpiryInterval, 35);
  });

  it('[MQTT-3.3.2-5] an expired queued message is never delivered (and is counted)', async () => {
    const { core, clock } = createTestCore();
    const sub = connectV5(core, 'sub', { sessionExpiryInterval: 300 });
    await subscribeSettled(sub, 't', 1);
    sub.connection.transportClosed();
    const pub = connectV5(core, 'pub');
    publish(pub, {
      qos: 1,
      payload: Buffer.from('old'),
      properties: { messageExpiryInterval: 10 },
    });
    publish(pub, {
      qos: 1,
      payload: Buffer.from('new'),
      properties: { messageExpiryInterval: 100 },
    });
    clock.advance(10_000);
    const back = connectV5(core, 'sub', { sessionExpiryInterval: 300 }, { clean: false });
    await flush(); // a stored queue is paged in from the store
    const got = publishes(back.received);
    assert.deepEqual(
      got.map((p) => p.payload.toString()),
      ['new'],
    );
    assert.equal(core.metrics.dropped.expired, 1);
  });

  it('[MQTT-3.3.2-5] a message waiting behind the Receive Maximum expires in the queue', () => {
    const { core, clock } = createTestCore();
    const sub = connectV5(core, 'sub', { receiveMaximum: 1 });
    subscribe(sub, 't', 1);
    const pub = connectV5(core, 'pub');
    publish(pub, { qos: 1, payload: Buffer.from('a'), properties: { messageExpiryInterval: 5 } });
    publish(pub, { qos: 1, payload: Buffer.from('b'), properties: { messageExpiryInterval: 5 } });
    const first = publishes(sub.take());
    assert.deepEqual(
      first.map((p) => p.payload.toString()),
      ['a'],
    );
    clock.advance(6_000);
    sub.send({ type: 'puback', packetId: first[0]!.packetId! });
    assert.deepEqual(publishes(sub.take()), []);
    assert.equal(core.metrics.dropped.expired, 1);
  });

  it('[MQTT-3.3.2-6] a retained message carries its remaining interval, and is gone once expired', () => {
    const { core, clock } = createTestCore();
    const pub = connectV5(core, 'pub');
    publish(pub, { retain: true, properties: { messageExpiryInterval: 10 } });
    clock.advance(4_000);
    const sub = connectV5(core, 'sub');
    sub.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 't', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    const [got] = publishes(sub.take());
    assert.equal(got?.properties?.messageExpiryInterval, 6);
    clock.advance(6_000);
    const late = connectV5(core, 'late');
    late.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 't', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    assert.deepEqual(publishes(late.take()), []);
  });
});

describe('core v5: topic aliases from the client', () => {
  it('[MQTT-3.3.2-12] accepts an alias set with a topic, then used with an empty topic', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, 'a/b', 0);
    const pub = connectV5(core, 'pub');
    publish(pub, { topic: 'a/b', payload: Buffer.from('1'), properties: { topicAlias: 3 } });
    publish(pub, { topic: '', payload: Buffer.from('2'), properties: { topicAlias: 3 } });
    const got = publishes(sub.take());
    assert.deepEqual(
      got.map((p) => [p.topic, p.payload.toString(), p.properties?.topicAlias]),
      [
        ['a/b', '1', undefined],
        ['a/b', '2', undefined],
      ],
    );
    assert.equal(pub.ended, false);
  });

  it('[MQTT-3.3.2-12] an alias can be remapped to another topic', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, '#', 0);
    const pub = connectV5(core, 'pub');
    publish(pub, { topic: 'x', properties: { topicAlias: 1 } });
    publish(pub, { topic: 'y', properties: { topicAlias: 1 } });
    publish(pub, { topic: '', properties: { topicAlias: 1 } });
    assert.deepEqual(
      publishes(sub.take()).map((p) => p.topic),
      ['x', 'y', 'y'],
    );
  });

  it('CONNACK announces our Topic Alias Maximum', () => {
    const { core } = createTestCore({ topicAliasMaximum: 7 });
    const client = new FakeClient(core, 5);
    client.connect();
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.properties?.topicAliasMaximum, 7);
  });

  it('[MQTT-3.3.2-8] a Topic Alias of 0 is DISCONNECT 0x94 Topic Alias invalid', () => {
    const { core } = createTestCore();
    const pub = connectV5(core, 'pub');
    publish(pub, { topic: 't', properties: { topicAlias: 0 } });
    assert.equal(disconnectCode(pub), 0x94);
  });

  it('[MQTT-3.3.2-9] an alias above our Topic Alias Maximum is DISCONNECT 0x94', () => {
    const { core } = createTestCore({ topicAliasMaximum: 4 });
    const pub = connectV5(core, 'pub');
    publish(pub, { topic: 't', properties: { topicAlias: 4 } });
    assert.equal(pub.ended, false, 'alias 4 of 4 is fine');
    publish(pub, { topic: 't', properties: { topicAlias: 5 } });
    assert.equal(disconnectCode(pub), 0x94);
  });

  it('[MQTT-3.3.2-9] with a Topic Alias Maximum of 0, any alias is DISCONNECT 0x94', () => {
    const { core } = createTestCore({ topicAliasMaximum: 0 });
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'pub' });
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.properties?.topicAliasMaximum, undefined);
    publish(client, { topic: 't', properties: { topicAlias: 1 } });
    assert.equal(disconnectCode(client), 0x94);
  });

  it('§3.3.2.3.4 an empty topic with an alias never set is DISCONNECT 0x82 Protocol error', () => {
    const { core } = createTestCore();
    const pub = connectV5(core, 'pub');
    publish(pub, { topic: '', properties: { topicAlias: 2 } });
    assert.equal(disconnectCode(pub), 0x82);
  });

  it('[MQTT-3.3.2-7] alias mappings do not survive a reconnect', () => {
    const { core } = createTestCore();
    const first = connectV5(core, 'pub', { sessionExpiryInterval: 60 });
    publish(first, { topic: 't', properties: { topicAlias: 1 } });
    first.connection.transportClosed();
    const second = connectV5(core, 'pub', { sessionExpiryInterval: 60 }, { clean: false });
    publish(second, { topic: '', properties: { topicAlias: 1 } });
    assert.equal(disconnectCode(second), 0x82);
  });
});

describe('core v5: topic aliases to the client', () => {
  it('[MQTT-3.1.2-27] sends no alias to a client without a Topic Alias Maximum', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, '#', 0);
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 3; i++) publish(pub, { topic: 'a' });
    const got = publishes(sub.take());
    assert.equal(got.length, 3);
    for (const p of got) {
      assert.equal(p.topic, 'a');
      assert.equal(p.properties?.topicAlias, undefined);
    }
  });

  it('[MQTT-3.3.2-11] uses aliases up to the client maximum and never above it', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub', { topicAliasMaximum: 2 });
    subscribe(sub, '#', 0);
    const pub = connectV5(core, 'pub');
    for (const topic of ['a', 'b', 'c', 'a', 'b', 'c']) publish(pub, { topic });
    const got = publishes(sub.take()).map((p) => [p.topic, p.properties?.topicAlias]);
    assert.deepEqual(got, [
      ['a', 1],
      ['b', 2],
      ['c', undefined],
      ['', 1],
      ['', 2],
      ['c', undefined],
    ]);
  });

  it('[MQTT-3.3.2-11] an alias is only reused after the client has seen its topic', () => {
    // A message dropped for being too large must not leave an alias the client never learned.
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub', { topicAliasMaximum: 4, maximumPacketSize: 64 });
    subscribe(sub, 't', 0);
    const pub = connectV5(core, 'pub');
    publish(pub, { payload: Buffer.alloc(200) });
    publish(pub, { payload: Buffer.from('small') });
    const got = publishes(sub.take());
    assert.equal(got.length, 1);
    assert.equal(got[0]!.topic, 't', 'the first PUBLISH the client sees names the topic');
    assert.equal(core.metrics.dropped['packet-too-large'], 1);
  });
});
