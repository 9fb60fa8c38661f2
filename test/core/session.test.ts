/**
 * Core tests of sessions on a fake clock: clean start, resumption, session expiry (also
 * changed at DISCONNECT), offline queueing and the resend of unacknowledged messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore } from '../../src/core/index.js';
import type { ProtocolVersion, PublishPacket, QoS } from '../../src/protocol/index.js';
import { createTestCore, FakeClient, flush } from '../helpers/core-harness.js';

/** Connects a client and returns it with its CONNACK's session present flag. */
function connect(
  core: BrokerCore,
  version: ProtocolVersion,
  clientId: string,
  clean: boolean,
  sessionExpiryInterval?: number,
): { client: FakeClient; present: boolean } {
  const client = new FakeClient(core, version);
  client.connect({
    clientId,
    clean,
    properties: sessionExpiryInterval === undefined ? undefined : { sessionExpiryInterval },
  });
  // Only the CONNACK: what follows it (resent and queued messages) stays for the test.
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack', 'CONNACK expected');
  assert.equal(connack.reasonCode, 0);
  return { client, present: connack.sessionPresent };
}

/** Subscribes; with a store, a persistent session's SUBACK waits for the commit. */
async function subscribe(client: FakeClient, filter: string, qos: QoS): Promise<void> {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  await flush();
  const suback = client.take()[0];
  assert.ok(suback?.type === 'suback');
  assert.deepEqual(suback.reasonCodes, [qos]);
}

function publish(client: FakeClient, topic: string, payload: string, qos: QoS, id = 1): void {
  client.send({
    type: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: false,
    dup: false,
    packetId: qos > 0 ? id : undefined,
  });
}

/**
 * The PUBLISH packets received, once what waits for a store commit went out (a QoS 2 copy
 * leaves only once its inbound packet id is durable [MQTT-4.3.3-9]).
 */
async function publishes(client: FakeClient): Promise<PublishPacket[]> {
  await flush();
  return client.take().filter((p): p is PublishPacket => p.type === 'publish');
}

describe('core: sessions', () => {
  it('[MQTT-3.1.2-4] (v5) clean start discards an existing session', async () => {
    const { core } = createTestCore();
    const first = connect(core, 5, 's', false, 60);
    await subscribe(first.client, 't', 1);
    first.client.connection.transportClosed();
    const again = connect(core, 5, 's', true, 60);
    assert.equal(again.present, false);
    const pub = connect(core, 5, 'p', true).client;
    publish(pub, 't', 'x', 1);
    assert.deepEqual(await publishes(again.client), []);
  });

  it('[MQTT-3.1.2-5] [MQTT-3.2.2-3] (v5) clean start 0 resumes the session: present = 1, subscriptions kept', async () => {
    const { core } = createTestCore();
    const first = connect(core, 5, 's', false, 60);
    assert.equal(first.present, false);
    await subscribe(first.client, 't', 1);
    first.client.connection.transportClosed();
    const again = connect(core, 5, 's', false, 60);
    assert.equal(again.present, true);
    const pub = connect(core, 5, 'p', true).client;
    publish(pub, 't', 'x', 1);
    assert.deepEqual(
      (await publishes(again.client)).map((p) => p.payload.toString()),
      ['x'],
    );
  });

  it('[MQTT-3.1.2-6] v3.1.1 clean session 0 keeps the session; clean session 1 ends it', async () => {
    const { core } = createTestCore();
    const first = connect(core, 4, 's', false);
    await subscribe(first.client, 't', 1);
    first.client.connection.transportClosed();
    assert.equal(connect(core, 4, 's', false).present, true);
    // [MQTT-3.1.2-6] clean session 1: the session lasts only as long as the connection.
    const clean = connect(core, 4, 's', true);
    assert.equal(clean.present, false); // [MQTT-3.2.2-1]
    clean.client.connection.transportClosed();
    assert.equal(connect(core, 4, 's', false).present, false);
  });

  it('[MQTT-3.1.2-23] (v5) session expiry 0 (the default) ends the session with the connection', async () => {
    const { core, admin } = createTestCore();
    const first = connect(core, 5, 's', false);
    await subscribe(first.client, 't', 1);
    first.client.connection.transportClosed();
    assert.equal(await admin.session('s'), undefined);
    assert.equal(connect(core, 5, 's', false).present, false);
  });

  it('[MQTT-3.1.2-23] (v5) the session ends when its expiry interval passes after the disconnect', async () => {
    const { core, clock, admin } = createTestCore();
    const first = connect(core, 5, 's', false, 10);
    await subscribe(first.client, 't', 1);
    first.client.connection.transportClosed();
    clock.advance(9_999);
    assert.notEqual(await admin.session('s'), undefined);
    clock.advance(1);
    assert.equal(await admin.session('s'), undefined);
    assert.equal((await admin.counters()).subscriptions, 0, 'its subscriptions are gone');
    assert.equal(connect(core, 5, 's', false, 10).present, false);
  });

  it('[MQTT-3.1.2-23] (v5) a session expiry beyond a Node timer range (30 days) is honoured', async () => {
    const { core, clock, admin } = createTestCore();
    const days30 = 30 * 24 * 3600;
    connect(core, 5, 's', false, days30).client.connection.transportClosed();
    clock.advance(days30 * 1000 - 1);
    assert.notEqual(await admin.session('s'), undefined);
    clock.advance(1);
    assert.equal(await admin.session('s'), undefined);
  });

  it('the expiry timer stops while the session is connected again', async () => {
    const { core, clock, admin } = createTestCore();
    connect(core, 5, 's', false, 10).client.connection.transportClosed();
    clock.advance(5_000);
    const again = connect(core, 5, 's', false, 10);
    assert.equal(again.present, true);
    clock.advance(60_000);
    assert.notEqual(await admin.session('s'), undefined);
  });

  it('DISCONNECT may lower the session expiry (to 0: the session ends)', async () => {
    const { core, admin } = createTestCore();
    const first = connect(core, 5, 's', false, 60);
    first.client.send({
      type: 'disconnect',
      reasonCode: 0,
      properties: { sessionExpiryInterval: 0 },
    });
    assert.equal(first.client.ended, true);
    assert.equal(await admin.session('s'), undefined);
  });

  it('DISCONNECT may set a new non-zero session expiry', async () => {
    const { core, clock, admin } = createTestCore();
    const first = connect(core, 5, 's', false, 10);
    first.client.send({
      type: 'disconnect',
      reasonCode: 0,
      properties: { sessionExpiryInterval: 100 },
    });
    clock.advance(50_000);
    assert.notEqual(await admin.session('s'), undefined);
    clock.advance(50_000);
    assert.equal(await admin.session('s'), undefined);
  });

  it('DISCONNECT raising the session expiry from 0 is a protocol error (0x82)', async () => {
    const { core, admin } = createTestCore();
    const first = connect(core, 5, 's', false, 0);
    first.client.send({
      type: 'disconnect',
      reasonCode: 0,
      properties: { sessionExpiryInterval: 30 },
    });
    const [disconnect] = first.client.take();
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    assert.equal(first.client.ended, true);
    assert.equal(await admin.session('s'), undefined, 'the session still ends with expiry 0');
  });

  it('[MQTT-3.1.2-5] a persistent session queues QoS 1 and 2 while offline (QoS 0 is not kept)', async () => {
    const { core, admin } = createTestCore();
    const sub = connect(core, 4, 's', false);
    await subscribe(sub.client, 't', 2);
    sub.client.connection.transportClosed();
    const pub = connect(core, 4, 'p', true).client;
    publish(pub, 't', 'q0', 0);
    publish(pub, 't', 'q1', 1, 1);
    publish(pub, 't', 'q2', 2, 2);
    assert.equal((await admin.session('s'))?.queuedMessages, 2);
    const again = connect(core, 4, 's', false);
    const got = await publishes(again.client);
    assert.deepEqual(
      got.map((p) => [p.payload.toString(), p.qos, p.dup]),
      [
        ['q1', 1, false],
        ['q2', 2, false],
      ],
    );
  });

  it('[MQTT-4.4.0-1] unacknowledged PUBLISH are resent with DUP, same ids, in order, before queued ones', async () => {
    const { core } = createTestCore();
    const sub = connect(core, 4, 's', false);
    await subscribe(sub.client, 't', 2);
    const pub = connect(core, 4, 'p', true).client;
    publish(pub, 't', 'a', 1, 1);
    publish(pub, 't', 'b', 2, 2);
    publish(pub, 't', 'c', 1, 3);
    const first = await publishes(sub.client);
    assert.deepEqual(
      first.map((p) => [p.payload.toString(), p.dup]),
      [
        ['a', false],
        ['b', false],
        ['c', false],
      ],
    );
    sub.client.connection.transportClosed(); // no acknowledgement was sent
    publish(pub, 't', 'd', 1, 4); // queued while offline
    const again = connect(core, 4, 's', false);
    assert.equal(again.present, true);
    const resent = await publishes(again.client);
    assert.deepEqual(
      resent.map((p) => [p.payload.toString(), p.dup, p.qos]),
      [
        ['a', true, 1],
        ['b', true, 2],
        ['c', true, 1],
        ['d', false, 1],
      ],
    );
    assert.deepEqual(
      resent.slice(0, 3).map((p) => p.packetId),
      first.map((p) => p.packetId),
    );
  });

  it('[MQTT-4.4.0-1] [MQTT-4.3.3-5] (v5) a PUBREL awaiting PUBCOMP is resent on reconnect', async () => {
    const { core, admin } = createTestCore();
    const sub = connect(core, 5, 's', false, 60);
    await subscribe(sub.client, 't', 2);
    const pub = connect(core, 5, 'p', true).client;
    publish(pub, 't', 'one', 2, 1);
    const [delivered] = await publishes(sub.client);
    assert.ok(delivered?.packetId !== undefined);
    sub.client.send({ type: 'pubrec', packetId: delivered.packetId });
    await flush(); // with a store, PUBREL leaves once the 'pubrel' state is durable
    const [pubrel] = sub.client.take();
    assert.equal(pubrel?.type, 'pubrel');
    sub.client.connection.transportClosed(); // PUBCOMP never sent
    const again = connect(core, 5, 's', false, 60);
    const packets = again.client.take();
    assert.deepEqual(
      packets.map((p) => p.type),
      ['pubrel'],
      'only the PUBREL, not the PUBLISH again',
    );
    assert.equal(packets[0]?.type === 'pubrel' && packets[0].packetId, delivered.packetId);
    again.client.send({ type: 'pubcomp', packetId: delivered.packetId });
    assert.equal((await admin.session('s'))?.inflight, 0);
  });
});
