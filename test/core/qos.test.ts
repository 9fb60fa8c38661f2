/**
 * Core tests of the QoS 1 and 2 exchanges in both directions, exactly-once routing of
 * inbound QoS 2, and delivery at the lower of the published and granted QoS.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore } from '../../src/core/index.js';
import type { ProtocolVersion, PublishPacket, QoS } from '../../src/protocol/index.js';
import { createTestCore, FakeClient, flush } from '../helpers/core-harness.js';

function connect(core: BrokerCore, version: ProtocolVersion, clientId: string): FakeClient {
  const client = new FakeClient(core, version);
  client.connect({ clientId });
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack' && connack.reasonCode === 0);
  return client;
}

function subscribe(client: FakeClient, filter: string, qos: QoS): void {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  client.take();
}

function publishPacket(topic: string, payload: string, qos: QoS, packetId?: number): PublishPacket {
  return {
    type: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: false,
    dup: false,
    packetId: qos > 0 ? packetId : undefined,
  };
}

/**
 * The PUBLISH packets received, once what waits for a store commit went out (a QoS 2 copy
 * leaves only once its inbound packet id is durable [MQTT-4.3.3-9]).
 */
async function publishes(client: FakeClient): Promise<PublishPacket[]> {
  await flush();
  return client.take().filter((p): p is PublishPacket => p.type === 'publish');
}

describe('core: QoS', () => {
  for (const version of [4, 5] as const) {
    it(`[MQTT-4.3.2-2] (3.1.1) [MQTT-4.3.2-4] (5.0) QoS 1 PUBLISH is answered with PUBACK of the same id (v${version})`, () => {
      const { core } = createTestCore();
      const pub = connect(core, version, 'p');
      pub.send(publishPacket('t', 'x', 1, 7));
      const [ack] = pub.take();
      assert.equal(ack?.type, 'puback');
      assert.equal(ack?.type === 'puback' && ack.packetId, 7);
    });

    it(`[MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-8] [MQTT-4.3.3-11] (5.0) QoS 2: PUBREC, then PUBCOMP for PUBREL (v${version})`, () => {
      const { core } = createTestCore();
      const pub = connect(core, version, 'p');
      pub.send(publishPacket('t', 'x', 2, 9));
      assert.deepEqual(
        pub.take().map((p) => [p.type, 'packetId' in p ? p.packetId : undefined]),
        [['pubrec', 9]],
      );
      pub.send({ type: 'pubrel', packetId: 9 });
      assert.deepEqual(
        pub.take().map((p) => [p.type, 'packetId' in p ? p.packetId : undefined]),
        [['pubcomp', 9]],
      );
    });
  }

  it('[MQTT-4.3.3-2] (3.1.1) a QoS 2 PUBLISH resent with the same id before PUBREL is routed once', async () => {
    const { core } = createTestCore();
    const sub = connect(core, 4, 's');
    subscribe(sub, 't', 2);
    const pub = connect(core, 4, 'p');
    pub.send(publishPacket('t', 'once', 2, 5));
    pub.send({ ...publishPacket('t', 'once', 2, 5), dup: true });
    pub.send({ ...publishPacket('t', 'once', 2, 5), dup: true });
    assert.deepEqual(
      pub.take().map((p) => p.type),
      ['pubrec', 'pubrec', 'pubrec'],
    );
    assert.equal((await publishes(sub)).length, 1);
    pub.send({ type: 'pubrel', packetId: 5 });
    assert.equal(pub.take()[0]?.type, 'pubcomp');
    // Released: the same id now starts a new message [MQTT-4.3.3-10].
    pub.send(publishPacket('t', 'again', 2, 5));
    assert.deepEqual(
      (await publishes(sub)).map((p) => p.payload.toString()),
      ['again'],
    );
  });

  it('[MQTT-4.3.3-2] (3.1.1) the QoS 2 id survives a reconnect of a persistent session: a resend is not routed again', async () => {
    const { core } = createTestCore();
    const sub = connect(core, 4, 's');
    subscribe(sub, 't', 2);
    const pub = new FakeClient(core, 4);
    pub.connect({ clientId: 'p', clean: false });
    pub.take();
    pub.send(publishPacket('t', 'once', 2, 3));
    pub.connection.transportClosed(); // PUBREC lost
    const again = new FakeClient(core, 4);
    again.connect({ clientId: 'p', clean: false });
    again.take();
    again.send({ ...publishPacket('t', 'once', 2, 3), dup: true });
    await flush(); // with a store, PUBREC and PUBCOMP of a persistent session wait for commits
    assert.equal(again.take()[0]?.type, 'pubrec');
    again.send({ type: 'pubrel', packetId: 3 });
    await flush();
    assert.equal(again.take()[0]?.type, 'pubcomp');
    assert.equal((await publishes(sub)).length, 1);
  });

  it('[MQTT-3.8.4-8] delivers at the lower of the published and the granted QoS', async () => {
    const { core } = createTestCore();
    const subs = ([0, 1, 2] as const).map((granted) => {
      const client = connect(core, 5, `s${granted}`);
      subscribe(client, 't', granted);
      return { granted, client };
    });
    const pub = connect(core, 5, 'p');
    ([0, 1, 2] as const).forEach((qos, i) => {
      pub.send(publishPacket('t', `q${qos}`, qos, i + 1));
    });
    for (const { granted, client } of subs) {
      assert.deepEqual(
        (await publishes(client)).map((p) => [p.payload.toString(), p.qos]),
        [
          ['q0', 0],
          ['q1', Math.min(1, granted)],
          ['q2', Math.min(2, granted)],
        ],
        `granted ${granted}`,
      );
    }
  });

  it('[MQTT-4.3.2-1] [MQTT-4.3.3-1] outbound QoS 1 and 2 use fresh ids and end on PUBACK / PUBCOMP', async () => {
    const { core, admin } = createTestCore();
    const sub = connect(core, 5, 's');
    subscribe(sub, 't', 2);
    const pub = connect(core, 5, 'p');
    pub.send(publishPacket('t', 'a', 1, 1));
    pub.send(publishPacket('t', 'b', 2, 2));
    const [a, b] = await publishes(sub);
    assert.ok(a?.packetId && b?.packetId);
    assert.notEqual(a.packetId, b.packetId);
    assert.equal((await admin.session('s'))?.inflight, 2);
    sub.send({ type: 'puback', packetId: a.packetId });
    sub.send({ type: 'pubrec', packetId: b.packetId });
    assert.deepEqual(
      sub.take().map((p) => [p.type, 'packetId' in p ? p.packetId : undefined]),
      [['pubrel', b.packetId]],
    );
    assert.equal((await admin.session('s'))?.inflight, 1);
    sub.send({ type: 'pubcomp', packetId: b.packetId });
    assert.equal((await admin.session('s'))?.inflight, 0);
  });

  it('[MQTT-4.6.0-6] (3.1.1) messages of one publisher on one topic keep their order', async () => {
    const { core } = createTestCore({ maxInflight: 10 });
    const sub = connect(core, 4, 's');
    subscribe(sub, 't', 1);
    const pub = connect(core, 4, 'p');
    for (let i = 0; i < 200; i++) pub.send(publishPacket('t', String(i), 1, (i % 60000) + 1));
    const got: string[] = [];
    // Acknowledge as they come: the window of 10 refills from the queue in order.
    for (let round = 0; round < 100 && got.length < 200; round++) {
      for (const p of await publishes(sub)) {
        got.push(p.payload.toString());
        sub.send({ type: 'puback', packetId: p.packetId! });
      }
    }
    assert.deepEqual(
      got,
      Array.from({ length: 200 }, (_, i) => String(i)),
    );
  });
});
