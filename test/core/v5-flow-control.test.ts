/**
 * MQTT 5 flow control and limits through the core harness: Receive Maximum and Maximum Packet
 * Size in both directions, Payload Format Indicator checks, Request Problem Information and
 * Response Information.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Packet } from '../../src/protocol/index.js';
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

function lastDisconnect(client: FakeClient): Extract<Packet, { type: 'disconnect' }> {
  const packet = client.take().find((p) => p.type === 'disconnect');
  assert.ok(packet?.type === 'disconnect', 'a DISCONNECT was sent');
  assert.equal(client.ended, true, 'the connection was closed');
  return packet;
}

describe('core v5: Receive Maximum', () => {
  it('[MQTT-3.3.4-9] never more unacknowledged QoS 1 PUBLISH than the client Receive Maximum', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub', { receiveMaximum: 2 });
    subscribe(sub, 't', 1);
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 5; i++) {
      publish(pub, { qos: 1, packetId: i + 1, payload: Buffer.from(String(i)) });
    }
    const all = publishes(sub.take());
    assert.equal(all.length, 2, 'two PUBLISH before any PUBACK');
    const outstanding = [...all];
    for (let round = 0; round < 10 && outstanding.length > 0; round++) {
      const first = outstanding.shift()!;
      sub.send({ type: 'puback', packetId: first.packetId! });
      const next = publishes(sub.take());
      all.push(...next);
      outstanding.push(...next);
      assert.ok(outstanding.length <= 2, 'never more than two unacknowledged');
    }
    assert.deepEqual(
      all.map((p) => p.payload.toString()),
      ['0', '1', '2', '3', '4'],
    );
  });

  it('[MQTT-3.3.4-9] QoS 2 holds its slot until PUBCOMP, not PUBREC', async () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub', { receiveMaximum: 1 });
    subscribe(sub, 't', 2);
    const pub = connectV5(core, 'pub');
    publish(pub, { qos: 2, packetId: 1, payload: Buffer.from('a') });
    publish(pub, { qos: 2, packetId: 2, payload: Buffer.from('b') });
    await flush(); // with a store, a QoS 2 copy goes onward after a commit [MQTT-4.3.3-9]
    const [first] = publishes(sub.take());
    assert.equal(first?.payload.toString(), 'a');
    sub.send({ type: 'pubrec', packetId: first.packetId! });
    const afterPubrec = sub.take();
    assert.deepEqual(
      afterPubrec.map((p) => p.type),
      ['pubrel'],
    );
    sub.send({ type: 'pubcomp', packetId: first.packetId! });
    await flush();
    const [second] = publishes(sub.take());
    assert.equal(second?.payload.toString(), 'b');
  });

  it('[MQTT-3.3.4-9] a resumed session resends no more than the new Receive Maximum', async () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub', { receiveMaximum: 4, sessionExpiryInterval: 60 });
    await subscribeSettled(sub, 't', 1);
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 4; i++) publish(pub, { qos: 1, packetId: i + 1 });
    assert.equal(publishes(sub.take()).length, 4);
    sub.connection.transportClosed();
    const back = connectV5(
      core,
      'sub',
      { receiveMaximum: 2, sessionExpiryInterval: 60 },
      { clean: false },
    );
    const resent = publishes(back.take());
    assert.equal(resent.length, 2, 'only two unacknowledged at a time');
    assert.ok(resent.every((p) => p.dup));
    const ids = resent.map((p) => p.packetId!);
    for (const id of ids) back.send({ type: 'puback', packetId: id });
    const rest = publishes(back.take());
    assert.equal(rest.length, 2, 'the other two follow once acknowledged');
  });

  it('[MQTT-3.3.4-7] more unacknowledged QoS 2 PUBLISH than our Receive Maximum is DISCONNECT 0x93', () => {
    const { core } = createTestCore({ receiveMaximum: 2 });
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'pub' });
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.properties?.receiveMaximum, 2);
    publish(client, { qos: 2, packetId: 1 });
    publish(client, { qos: 2, packetId: 2 });
    assert.deepEqual(
      client.take().map((p) => p.type),
      ['pubrec', 'pubrec'],
    );
    publish(client, { qos: 2, packetId: 3 });
    assert.equal(lastDisconnect(client).reasonCode, 0x93);
  });

  it('[MQTT-3.3.4-7] a PUBREL frees a slot of our Receive Maximum', () => {
    const { core } = createTestCore({ receiveMaximum: 1 });
    const client = connectV5(core, 'pub');
    publish(client, { qos: 2, packetId: 1 });
    client.send({ type: 'pubrel', packetId: 1 });
    publish(client, { qos: 2, packetId: 2 });
    assert.deepEqual(
      client.take().map((p) => p.type),
      ['pubrec', 'pubcomp', 'pubrec'],
    );
    assert.equal(client.ended, false);
  });
});

describe('core v5: Maximum Packet Size', () => {
  it('§3.2.2.3.6 CONNACK announces our Maximum Packet Size; a larger packet is DISCONNECT 0x95', () => {
    const { core } = createTestCore({ maximumPacketSize: 256 });
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'big' });
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.properties?.maximumPacketSize, 256);
    publish(client, { payload: Buffer.alloc(300) });
    assert.equal(lastDisconnect(client).reasonCode, 0x95);
  });

  it('[MQTT-3.1.2-24] never sends a PUBLISH larger than the client maximum: dropped and counted', async () => {
    const { core, admin } = createTestCore();
    const small = connectV5(core, 'small', { maximumPacketSize: 100 });
    subscribe(small, 't', 1);
    const large = connectV5(core, 'large');
    subscribe(large, 't', 1);
    const pub = connectV5(core, 'pub');
    publish(pub, { qos: 1, packetId: 1, payload: Buffer.alloc(200) });
    publish(pub, { qos: 1, packetId: 2, payload: Buffer.from('fits') });
    const got = publishes(small.take());
    assert.deepEqual(
      got.map((p) => p.payload.toString()),
      ['fits'],
    );
    assert.equal(publishes(large.take()).length, 2, 'other clients still get it');
    assert.equal(core.metrics.dropped['packet-too-large'], 1);
    small.send({ type: 'puback', packetId: got[0]!.packetId! });
    assert.equal((await admin.session('small'))?.inflight, 0, 'nothing left in flight');
  });

  it('[MQTT-3.1.2-24] a QoS 0 fan-out also respects each client maximum', () => {
    const { core } = createTestCore();
    const small = connectV5(core, 'small', { maximumPacketSize: 50 });
    subscribe(small, 't', 0);
    const other = connectV5(core, 'other');
    subscribe(other, 't', 0);
    const pub = connectV5(core, 'pub');
    publish(pub, { payload: Buffer.alloc(80) });
    assert.equal(publishes(small.take()).length, 0);
    assert.equal(publishes(other.take()).length, 1);
    assert.equal(core.metrics.dropped['packet-too-large'], 1);
  });

  it('[MQTT-3.14.2-3] drops the reason string rather than exceed the client maximum', () => {
    const { core } = createTestCore();
    // 16 bytes: the CONNACK 0x00 just fits [MQTT-3.1.2-24]; a reason string would not.
    const client = connectV5(core, 'c', { maximumPacketSize: 16 });
    publish(client, { topic: '', properties: { topicAlias: 9 } });
    const [disconnect] = client.take();
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    assert.equal(disconnect.properties?.reasonString, undefined);
  });
});

describe('core v5: payload format, problem and response information', () => {
  it('§3.3.2.3.2 Payload Format Indicator 1 with invalid UTF-8 is PUBACK 0x99, not routed', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, 't', 1);
    const pub = connectV5(core, 'pub');
    const bad = Buffer.from([0x66, 0xff, 0xfe]);
    publish(pub, { qos: 1, packetId: 7, payload: bad, properties: { payloadFormatIndicator: 1 } });
    const [puback] = pub.take();
    assert.ok(puback?.type === 'puback');
    assert.equal(puback.packetId, 7);
    assert.equal(puback.reasonCode, 0x99);
    assert.equal(publishes(sub.take()).length, 0);
    assert.equal(pub.ended, false);
  });

  it('[MQTT-3.3.2-4] a valid UTF-8 payload keeps its Payload Format Indicator', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, 't', 0);
    const pub = connectV5(core, 'pub');
    publish(pub, { payload: Buffer.from('héllo'), properties: { payloadFormatIndicator: 1 } });
    const [got] = publishes(sub.take());
    assert.equal(got?.properties?.payloadFormatIndicator, 1);
  });

  it('[MQTT-3.1.2-29] no reason string when Request Problem Information is 0', () => {
    const { core } = createTestCore();
    const quiet = connectV5(core, 'quiet', { requestProblemInformation: 0 });
    publish(quiet, { topic: 't', properties: { topicAlias: 0 } });
    const q = lastDisconnect(quiet);
    assert.equal(q.reasonCode, 0x94);
    assert.equal(q.properties?.reasonString, undefined);
    const chatty = connectV5(core, 'chatty');
    publish(chatty, { topic: 't', properties: { topicAlias: 0 } });
    const c = lastDisconnect(chatty);
    assert.equal(c.reasonCode, 0x94);
    assert.equal(typeof c.properties?.reasonString, 'string');
  });

  it('§3.1.2.11.6 Response Information in CONNACK only when requested and configured', () => {
    const { core } = createTestCore({ responseInformation: (id) => `replies/${id}` });
    const asked = new FakeClient(core, 5);
    asked.connect({ clientId: 'a', properties: { requestResponseInformation: 1 } });
    const [c1] = asked.take();
    assert.ok(c1?.type === 'connack');
    assert.equal(c1.properties?.responseInformation, 'replies/a');
    const silent = new FakeClient(core, 5);
    silent.connect({ clientId: 'b' });
    const [c2] = silent.take();
    assert.ok(c2?.type === 'connack');
    assert.equal(c2.properties?.responseInformation, undefined);
    const { core: plain } = createTestCore();
    const unconfigured = new FakeClient(plain, 5);
    unconfigured.connect({ clientId: 'c', properties: { requestResponseInformation: 1 } });
    const [c3] = unconfigured.take();
    assert.ok(c3?.type === 'connack' && c3.reasonCode === 0);
    assert.equal(c3.properties?.responseInformation, undefined);
  });
});
