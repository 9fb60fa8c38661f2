/**
 * MQTT 5 subscription features through the core harness: shared subscriptions (one member per
 * message, re-dispatch of unacknowledged messages), No Local, Subscription Identifiers and
 * Retain As Published.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore } from '../../src/core/index.js';
import type {
  Packet,
  Properties,
  PublishPacket,
  QoS,
  SubscriptionRequest,
} from '../../src/protocol/index.js';
import { createTestCore, FakeClient } from '../helpers/core-harness.js';

function connectV5(core: BrokerCore, clientId: string, properties?: Properties): FakeClient {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, properties });
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack' && connack.reasonCode === 0);
  return client;
}

let nextPacketId = 1;

function subscribe(
  client: FakeClient,
  filter: string,
  qos: QoS,
  options: Partial<SubscriptionRequest> = {},
  subscriptionId?: number,
): Packet[] {
  client.send({
    type: 'subscribe',
    packetId: nextPacketId++,
    subscriptions: [
      { filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options },
    ],
    properties:
      subscriptionId === undefined ? undefined : { subscriptionIdentifiers: [subscriptionId] },
  });
  const packets = client.take();
  const suback = packets.find((p) => p.type === 'suback');
  assert.ok(suback?.type === 'suback');
  assert.ok(suback.reasonCodes[0]! < 0x80, 'subscription granted');
  return packets.filter((p) => p.type !== 'suback');
}

function publish(client: FakeClient, fields: Partial<PublishPacket> = {}): void {
  const qos = fields.qos ?? 0;
  client.send({
    type: 'publish',
    topic: 'jobs/1',
    payload: Buffer.from('x'),
    qos,
    retain: false,
    dup: false,
    packetId: qos > 0 ? nextPacketId++ : undefined,
    ...fields,
  });
}

function publishes(packets: Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 'publish');
}

describe('core v5: shared subscriptions', () => {
  it('§4.8.2 each message goes to exactly one member of the group', () => {
    const { core } = createTestCore();
    const members = ['m1', 'm2', 'm3'].map((id) => connectV5(core, id));
    for (const m of members) subscribe(m, '$share/g/jobs/#', 0);
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 30; i++) publish(pub, { payload: Buffer.from(String(i)) });
    const got = members.map((m) => publishes(m.take()).map((p) => p.payload.toString()));
    const all = got.flat().sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(
      all,
      Array.from({ length: 30 }, (_, i) => String(i)),
      'every message exactly once',
    );
    for (const g of got) assert.ok(g.length > 0, 'load is spread over members');
  });

  it('§4.8.2 two groups on the same filter each get a copy, and a plain subscriber too', () => {
    const { core } = createTestCore();
    const a = [connectV5(core, 'a1'), connectV5(core, 'a2')];
    const b = [connectV5(core, 'b1'), connectV5(core, 'b2')];
    for (const m of a) subscribe(m, '$share/A/jobs/#', 1);
    for (const m of b) subscribe(m, '$share/B/jobs/#', 1);
    const plain = connectV5(core, 'plain');
    subscribe(plain, 'jobs/#', 1);
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 4; i++) publish(pub, { qos: 1 });
    const count = (clients: FakeClient[]): number =>
      clients.reduce((n, c) => n + publishes(c.take()).length, 0);
    assert.equal(count(a), 4);
    assert.equal(count(b), 4);
    assert.equal(count([plain]), 4);
  });

  it('§4.8.2 unacknowledged QoS 1 messages of a member that leaves go to another member', () => {
    const { core } = createTestCore();
    const leaving = connectV5(core, 'leaving', { receiveMaximum: 10 });
    const staying = connectV5(core, 'staying');
    subscribe(leaving, '$share/g/jobs/#', 1);
    subscribe(staying, '$share/g/jobs/#', 1);
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 6; i++) publish(pub, { qos: 1, payload: Buffer.from(String(i)) });
    const held = publishes(leaving.take()).map((p) => p.payload.toString());
    const first = publishes(staying.take());
    for (const p of first) staying.send({ type: 'puback', packetId: p.packetId! });
    assert.ok(held.length > 0, 'the leaving member had messages in flight');
    leaving.connection.transportClosed();
    const redelivered = publishes(staying.take()).map((p) => p.payload.toString());
    assert.deepEqual(redelivered.sort(), held.sort());
    const total = first.length + redelivered.length;
    assert.equal(total, 6, 'nothing lost, nothing doubled');
  });

  // Without a store: a stored queue keeps a persistent member's queued deliveries for its
  // return (§4.8.2 allows waiting for the client); only the in-memory queue hands them on.
  it("§4.8.2 messages queued behind a leaving member's Receive Maximum go to another member", async () => {
    const { core, admin } = createTestCore({}, { store: 'none' });
    const leaving = connectV5(core, 'leaving', { receiveMaximum: 1, sessionExpiryInterval: 60 });
    const staying = connectV5(core, 'staying');
    subscribe(leaving, '$share/g/jobs/#', 1);
    subscribe(staying, '$share/g/jobs/#', 1);
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 6; i++) publish(pub, { qos: 1, payload: Buffer.from(String(i)) });
    assert.equal(publishes(leaving.take()).length, 1, 'one in flight, the rest queued');
    const got = publishes(staying.take());
    for (const p of got) staying.send({ type: 'puback', packetId: p.packetId! });
    leaving.connection.transportClosed();
    got.push(...publishes(staying.take()));
    assert.deepEqual(got.map((p) => p.payload.toString()).sort(), ['0', '1', '2', '3', '4', '5']);
    assert.equal(
      (await admin.session('leaving'))?.queuedMessages,
      0,
      'the persistent session keeps none',
    );
  });

  it('(spec 4.8.2, no numbered statement) no retained messages are sent on a shared subscribe', () => {
    const { core } = createTestCore();
    const pub = connectV5(core, 'pub');
    publish(pub, { retain: true, payload: Buffer.from('kept') });
    const member = connectV5(core, 'm');
    const extra = subscribe(member, '$share/g/jobs/#', 0);
    assert.deepEqual(publishes(extra), []);
    const plain = connectV5(core, 'plain');
    assert.equal(publishes(subscribe(plain, 'jobs/#', 0)).length, 1, 'a plain subscribe gets it');
  });

  it('[MQTT-3.8.3-4] No Local on a shared subscription is DISCONNECT 0x82', () => {
    const { core } = createTestCore();
    const client = connectV5(core, 'c');
    client.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        {
          filter: '$share/g/t',
          qos: 0,
          noLocal: true,
          retainAsPublished: false,
          retainHandling: 0,
        },
      ],
    });
    const [disconnect] = client.take();
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    assert.equal(client.ended, true);
  });

  it('§4.8.2 a member that unsubscribes gets no more messages', () => {
    const { core } = createTestCore();
    const m1 = connectV5(core, 'm1');
    const m2 = connectV5(core, 'm2');
    subscribe(m1, '$share/g/jobs/#', 0);
    subscribe(m2, '$share/g/jobs/#', 0);
    m1.send({ type: 'unsubscribe', packetId: 99, filters: ['$share/g/jobs/#'] });
    m1.take();
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 4; i++) publish(pub);
    assert.equal(publishes(m1.take()).length, 0);
    assert.equal(publishes(m2.take()).length, 4);
  });
});

describe('core v5: No Local, Subscription Identifiers, Retain As Published', () => {
  it('[MQTT-3.8.3-3] No Local: a client does not receive its own messages', () => {
    const { core } = createTestCore();
    const self = connectV5(core, 'self');
    subscribe(self, 'jobs/#', 0, { noLocal: true });
    const other = connectV5(core, 'other');
    subscribe(other, 'jobs/#', 0);
    publish(self);
    assert.equal(publishes(self.take()).length, 0);
    assert.equal(publishes(other.take()).length, 1);
    publish(other);
    assert.equal(publishes(self.take()).length, 1, 'messages of others still arrive');
  });

  it('[MQTT-3.8.3-3] No Local on one of two overlapping subscriptions: the other still delivers', () => {
    const { core } = createTestCore();
    const self = connectV5(core, 'self');
    subscribe(self, 'jobs/#', 0, { noLocal: true });
    subscribe(self, 'jobs/1', 0);
    publish(self);
    assert.equal(publishes(self.take()).length, 1);
  });

  it('[MQTT-3.3.4-3] the Subscription Identifier is carried on delivery', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, 'jobs/#', 0, {}, 7);
    publish(connectV5(core, 'pub'));
    assert.deepEqual(publishes(sub.take())[0]?.properties?.subscriptionIdentifiers, [7]);
  });

  it('[MQTT-3.3.4-4] overlapping subscriptions: one copy carrying every identifier', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, 'jobs/#', 0, {}, 1);
    subscribe(sub, 'jobs/+', 1, {}, 2);
    subscribe(sub, 'jobs/1', 0); // no identifier
    publish(connectV5(core, 'pub'), { qos: 1 });
    const got = publishes(sub.take());
    assert.equal(got.length, 1);
    assert.equal(got[0]!.qos, 1, 'the highest granted QoS');
    assert.deepEqual([...(got[0]!.properties?.subscriptionIdentifiers ?? [])].sort(), [1, 2]);
  });

  it('[MQTT-3.3.4-3] a delivery through a subscription without identifier carries none', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, 'jobs/#', 0);
    publish(connectV5(core, 'pub'));
    assert.equal(publishes(sub.take())[0]?.properties?.subscriptionIdentifiers, undefined);
  });

  it('[MQTT-3.3.4-3] a shared subscription carries its identifier too', () => {
    const { core } = createTestCore();
    const sub = connectV5(core, 'sub');
    subscribe(sub, '$share/g/jobs/#', 0, {}, 9);
    publish(connectV5(core, 'pub'));
    assert.deepEqual(publishes(sub.take())[0]?.properties?.subscriptionIdentifiers, [9]);
  });

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published keeps the RETAIN flag of a live message', () => {
    const { core } = createTestCore();
    const keep = connectV5(core, 'keep');
    subscribe(keep, 'jobs/#', 0, { retainAsPublished: true });
    const clear = connectV5(core, 'clear');
    subscribe(clear, 'jobs/#', 0);
    publish(connectV5(core, 'pub'), { retain: true });
    assert.equal(publishes(keep.take())[0]?.retain, true);
    assert.equal(publishes(clear.take())[0]?.retain, false);
  });
});
