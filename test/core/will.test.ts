/**
 * Core tests of will messages on a fake clock: when a will is published, when it is not,
 * the Will Delay Interval, and will QoS / retain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore } from '../../src/core/index.js';
import type {
  ConnectPacket,
  ProtocolVersion,
  PublishPacket,
  QoS,
  Will,
} from '../../src/protocol/index.js';
import { createTestCore, FakeClient, flush } from '../helpers/core-harness.js';

function connect(
  core: BrokerCore,
  version: ProtocolVersion,
  fields: Partial<ConnectPacket>,
): { client: FakeClient; present: boolean } {
  const client = new FakeClient(core, version);
  client.connect(fields);
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack');
  assert.equal(connack.reasonCode, 0);
  return { client, present: connack.sessionPresent };
}

/** A connected client subscribed to `filter`. */
function watcher(core: BrokerCore, filter = 'will/#', qos: QoS = 2): FakeClient {
  const { client } = connect(core, 5, { clientId: `w-${filter}` });
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: true, retainHandling: 0 }],
  });
  client.take();
  return client;
}

function wills(client: FakeClient): PublishPacket[] {
  return client.take().filter((p): p is PublishPacket => p.type === 'publish');
}

function will(delay?: number, fields: Partial<Will> = {}): Will {
  return {
    topic: 'will/c',
    payload: Buffer.from('gone'),
    qos: 1,
    retain: false,
    properties: delay === undefined ? undefined : { willDelayInterval: delay },
    ...fields,
  };
}

describe('core: wills', () => {
  it('[MQTT-3.1.2-8] (3.1.1) publishes the will when the connection is lost', () => {
    const { core } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 4, { clientId: 'c', will: will() });
    client.connection.transportClosed();
    const got = wills(w);
    assert.deepEqual(
      got.map((p) => [p.topic, p.payload.toString(), p.qos]),
      [['will/c', 'gone', 1]],
    );
  });

  it('[MQTT-3.1.2-10] does not publish the will after DISCONNECT (v3.1.1)', () => {
    const { core } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 4, { clientId: 'c', will: will() });
    client.send({ type: 'disconnect' });
    client.connection.transportClosed();
    assert.deepEqual(wills(w), []);
  });

  it('[MQTT-3.14.4-3] does not publish the will after DISCONNECT 0x00 (v5)', () => {
    const { core } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 5, { clientId: 'c', will: will() });
    client.send({ type: 'disconnect', reasonCode: 0 });
    assert.deepEqual(wills(w), []);
  });

  it('[MQTT-3.1.2-8] (v5) DISCONNECT 0x04 (with will message) publishes the will', () => {
    const { core } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 5, { clientId: 'c', will: will() });
    client.send({ type: 'disconnect', reasonCode: 0x04 });
    assert.deepEqual(
      wills(w).map((p) => p.payload.toString()),
      ['gone'],
    );
  });

  it('[MQTT-3.1.2-8] (3.1.1) publishes the will on keep alive timeout', () => {
    const { core, clock } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 4, { clientId: 'c', keepAlive: 2, will: will() });
    clock.advance(2_999);
    assert.deepEqual(wills(w), []);
    clock.advance(1);
    assert.equal(client.ended, true);
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/c'],
    );
  });

  it('[MQTT-3.2.2-21] the Server Keep Alive is enforced (1.5x) and the timeout publishes the will', () => {
    const { core, clock } = createTestCore({ maxKeepAlive: 10 });
    const w = watcher(core);
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'c', keepAlive: 0, will: will() });
    const connack = client.received.shift();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.properties?.serverKeepAlive, 10);
    clock.advance(14_999);
    assert.equal(client.ended, false);
    w.send({ type: 'pingreq' }); // the watcher has the same Server Keep Alive: keep it alive
    w.take();
    clock.advance(1);
    const [disconnect] = client.take();
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x8d);
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/c'],
    );
  });

  it('[MQTT-3.1.4-3] (v5) publishes the will of a connection that is taken over', () => {
    const { core } = createTestCore();
    const w = watcher(core);
    const first = connect(core, 5, {
      clientId: 'c',
      will: will(),
      properties: { sessionExpiryInterval: 60 },
    });
    connect(core, 5, { clientId: 'c', clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(first.client.ended, true);
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/c'],
    );
  });

  it('[MQTT-3.1.2-17] (3.1.1) will QoS and retain are honoured (retained will reaches later subscribers)', async () => {
    const { core } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 4, {
      clientId: 'c',
      will: will(undefined, { qos: 2, retain: true }),
    });
    client.connection.transportClosed();
    await flush(); // with a store, a QoS 2 message goes onward after a commit [MQTT-4.3.3-9]
    const [live] = wills(w);
    assert.equal(live?.qos, 2);
    assert.equal(live?.retain, true, 'retain as published was asked');
    const late = watcher(core, 'will/c', 1);
    void late;
    const { client: later } = connect(core, 4, { clientId: 'late' });
    later.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'will/c', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await flush();
    const retained = wills(later);
    assert.deepEqual(
      retained.map((p) => [p.payload.toString(), p.retain, p.qos]),
      [['gone', true, 2]],
    );
  });

  it('[MQTT-3.1.3-9] (v5) Will Delay: the will is sent when the delay passes', () => {
    const { core, clock } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 5, {
      clientId: 'c',
      will: will(5),
      properties: { sessionExpiryInterval: 60 },
    });
    client.connection.transportClosed();
    clock.advance(4_999);
    assert.deepEqual(wills(w), []);
    clock.advance(1);
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/c'],
    );
  });

  it('[MQTT-3.1.3-9] (v5) Will Delay: resuming the session in time cancels the will', () => {
    const { core, clock } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 5, {
      clientId: 'c',
      will: will(5),
      properties: { sessionExpiryInterval: 60 },
    });
    client.connection.transportClosed();
    clock.advance(3_000);
    const again = connect(core, 5, {
      clientId: 'c',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal(again.present, true);
    clock.advance(10_000);
    assert.deepEqual(wills(w), []);
  });

  it('[MQTT-3.1.3-9] (v5) Will Delay: the will is sent when the session ends first', () => {
    const { core, clock } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 5, {
      clientId: 'c',
      will: will(30),
      properties: { sessionExpiryInterval: 10 },
    });
    client.connection.transportClosed();
    clock.advance(9_999);
    assert.deepEqual(wills(w), []);
    clock.advance(1);
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/c'],
    );
  });

  it('[MQTT-3.1.3-9] (v5) Will Delay with session expiry 0: the will goes at once', () => {
    const { core } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 5, { clientId: 'c', will: will(30) });
    client.connection.transportClosed();
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/c'],
    );
  });

  it('[MQTT-3.1.3-9] (v5) Will Delay: a clean start of the same client id ends the session and sends the will', () => {
    const { core } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 5, {
      clientId: 'c',
      will: will(30),
      properties: { sessionExpiryInterval: 60 },
    });
    client.connection.transportClosed();
    assert.deepEqual(wills(w), []);
    connect(core, 5, { clientId: 'c', clean: true });
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/c'],
    );
  });

  it('a will is published once only', () => {
    const { core, clock } = createTestCore();
    const w = watcher(core);
    const { client } = connect(core, 5, {
      clientId: 'c',
      will: will(5),
      properties: { sessionExpiryInterval: 5 },
    });
    client.connection.transportClosed();
    clock.advance(60_000);
    assert.equal(wills(w).length, 1);
  });

  it('[MQTT-3.1.3-9] (v5) a will scheduled at an absolute time (a dead cluster node’s client) is sent then, or at once when it has passed', () => {
    const { core, clock } = createTestCore();
    const w = watcher(core);
    const client = {
      clientId: 'gone',
      username: undefined,
      usernameVerified: false,
      protocolVersion: 5 as const,
      remoteAddress: undefined,
      listener: 'test',
      certificateIdentity: undefined,
    };
    core.wills.scheduleAt(client, will(30, { topic: 'will/late' }), clock.now() + 2_000);
    clock.advance(1_999);
    assert.deepEqual(wills(w), []);
    clock.advance(1);
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/late'],
    );
    core.wills.scheduleAt(client, will(30, { topic: 'will/due' }), clock.now() - 1);
    assert.deepEqual(
      wills(w).map((p) => p.topic),
      ['will/due'],
    );
  });

  it('[MQTT-3.1.3-9] (v5) the observer of wills’ fate hears of each will sent (once routed) and each dropped by a resumed session', async () => {
    const { core, clock } = createTestCore();
    const fates: string[] = [];
    core.wills.observe({
      sent: (clientId, routed) => void routed.then(() => fates.push(`sent ${clientId}`)),
      cancelled: (clientId) => fates.push(`cancelled ${clientId}`),
    });
    const session = { properties: { sessionExpiryInterval: 60 } };
    const first = connect(core, 5, { clientId: 'a', will: will(5), ...session });
    first.client.connection.transportClosed();
    connect(core, 5, { clientId: 'a', clean: false, ...session });
    const second = connect(core, 5, { clientId: 'b', will: will(5), ...session });
    second.client.connection.transportClosed();
    clock.advance(5_000);
    await flush();
    assert.deepEqual(fates, ['cancelled a', 'sent b']);
  });

  it('broker close() does not publish wills', () => {
    const { core } = createTestCore();
    const w = watcher(core);
    connect(core, 4, { clientId: 'c', will: will() });
    w.take();
    core.close();
    assert.deepEqual(
      w.take().filter((p) => p.type === 'publish'),
      [],
    );
  });
});
