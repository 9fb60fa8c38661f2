/**
 * Fan-out encodes each outgoing PUBLISH wire form once: every subscriber of one form gets the
 * very same Buffer, and per-subscriber parts (packet ids, subscription ids, aliases) stay right.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore } from '../../src/core/index.js';
import type { Properties, ProtocolVersion, PublishPacket, QoS } from '../../src/protocol/index.js';
import { createTestCore, FakeClient } from '../helpers/core-harness.js';

/** A FakeClient that also keeps every Buffer object the broker wrote to it. */
class RecordingClient extends FakeClient {
  readonly writes: Buffer[] = [];
  override write(data: Buffer): void {
    this.writes.push(data);
    super.write(data);
  }
}

function subscriber(
  core: BrokerCore,
  clientId: string,
  version: ProtocolVersion,
  qos: QoS,
  options: { properties?: Properties; subscriptionId?: number } = {},
): RecordingClient {
  const client = new RecordingClient(core, version);
  client.connect({ clientId, properties: options.properties });
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter: 'f/#', qos, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
    properties:
      options.subscriptionId === undefined
        ? undefined
        : { subscriptionIdentifiers: [options.subscriptionId] },
  });
  client.take();
  client.writes.length = 0;
  return client;
}

function publisher(core: BrokerCore): FakeClient {
  const client = new FakeClient(core, 5);
  client.connect({ clientId: 'pub' });
  client.take();
  return client;
}

function publishFrom(client: FakeClient, qos: QoS, properties?: Properties): void {
  client.send({
    type: 'publish',
    topic: 'f/x',
    payload: Buffer.from('fan-out payload'),
    qos,
    retain: false,
    dup: false,
    packetId: qos > 0 ? 1 : undefined,
    properties,
  });
}

function onlyPublish(client: FakeClient): PublishPacket {
  const packets = client.take();
  assert.equal(packets.length, 1);
  const [packet] = packets;
  assert.ok(packet?.type === 'publish');
  return packet;
}

describe('core fan-out: one encoding per wire form', () => {
  it('50 v5 and 50 v3.1.1 QoS 0 subscribers share one Buffer per form', () => {
    const { core } = createTestCore();
    const v5 = Array.from({ length: 50 }, (_, i) => subscriber(core, `v5-${i}`, 5, 0));
    const v4 = Array.from({ length: 50 }, (_, i) => subscriber(core, `v4-${i}`, 4, 0));
    publishFrom(publisher(core), 0, { userProperties: [['k', 'v']] });
    const v5Buffers = v5.map((c) => {
      assert.equal(c.writes.length, 1);
      return c.writes[0]!;
    });
    const v4Buffers = v4.map((c) => {
      assert.equal(c.writes.length, 1);
      return c.writes[0]!;
    });
    for (const b of v5Buffers) assert.equal(b, v5Buffers[0], 'same v5 Buffer instance');
    for (const b of v4Buffers) assert.equal(b, v4Buffers[0], 'same v3.1.1 Buffer instance');
    assert.notEqual(v5Buffers[0], v4Buffers[0]);
    const a = onlyPublish(v5[0]!);
    assert.equal(a.payload.toString(), 'fan-out payload');
    assert.deepEqual(a.properties?.userProperties, [['k', 'v']]);
    const b = onlyPublish(v4[49]!);
    assert.equal(b.payload.toString(), 'fan-out payload');
    assert.equal(b.properties, undefined);
  });

  it('message expiry is part of the shared v5 form', () => {
    const { core } = createTestCore();
    const subs = Array.from({ length: 5 }, (_, i) => subscriber(core, `s${i}`, 5, 0));
    publishFrom(publisher(core), 0, { messageExpiryInterval: 30 });
    for (const s of subs) assert.equal(s.writes[0], subs[0]!.writes[0]);
    assert.equal(onlyPublish(subs[3]!).properties?.messageExpiryInterval, 30);
  });

  it('QoS 1 subscribers get the shared form with their own packet id (the template is not altered)', () => {
    const { core } = createTestCore();
    const subs = Array.from({ length: 10 }, (_, i) => subscriber(core, `q${i}`, 5, 1));
    // Give each session a different next packet id.
    subs.forEach((s, i) => {
      const session = core.sessions.get(s.connection.client.clientId)!;
      // The next packet id lives in the session's inflight window (inflight.ts).
      const inflight = (session as unknown as { window(): { nextPacketId: number } }).window();
      inflight.nextPacketId = 100 + i;
    });
    publishFrom(publisher(core), 1);
    subs.forEach((s, i) => {
      const p = onlyPublish(s);
      assert.equal(p.packetId, 100 + i);
      assert.equal(p.payload.toString(), 'fan-out payload');
    });
    const buffers = new Set(subs.map((s) => s.writes[0]));
    assert.equal(buffers.size, subs.length, 'a packet id makes each buffer its own');
  });

  it('per-subscriber forms are not shared: subscription ids and topic aliases', () => {
    const { core } = createTestCore();
    const plain = [subscriber(core, 'p1', 5, 0), subscriber(core, 'p2', 5, 0)];
    const withId = subscriber(core, 'id', 5, 0, { subscriptionId: 42 });
    const aliased = subscriber(core, 'alias', 5, 0, { properties: { topicAliasMaximum: 3 } });
    publishFrom(publisher(core), 0);
    assert.equal(plain[0]!.writes[0], plain[1]!.writes[0]);
    assert.notEqual(withId.writes[0], plain[0]!.writes[0]);
    assert.notEqual(aliased.writes[0], plain[0]!.writes[0]);
    assert.deepEqual(onlyPublish(withId).properties?.subscriptionIdentifiers, [42]);
    assert.equal(onlyPublish(aliased).properties?.topicAlias, 1);
    const shared = onlyPublish(plain[0]!).properties;
    assert.equal(shared?.subscriptionIdentifiers, undefined);
    assert.equal(shared?.topicAlias, undefined);
  });

  it('different granted QoS gives one form per QoS', () => {
    const { core } = createTestCore();
    const q0 = [subscriber(core, 'a', 5, 0), subscriber(core, 'b', 5, 0)];
    const q1 = [subscriber(core, 'c', 5, 1), subscriber(core, 'd', 5, 1)];
    publishFrom(publisher(core), 1);
    assert.equal(q0[0]!.writes[0], q0[1]!.writes[0]);
    assert.equal(onlyPublish(q0[0]!).qos, 0);
    assert.equal(onlyPublish(q1[0]!).qos, 1);
    assert.equal(onlyPublish(q1[1]!).qos, 1);
  });
});
