import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestCore, FakeClient } from '../helpers/core-harness.js';

// What a connection keeps once it is up (#17): the handshake goes unless it holds a will or an
// authentication method, and what the connection reads later stays readable without it.
describe('core: an idle connection', () => {
  it('lets go of its handshake after CONNACK when it has no will and no authentication method', () => {
    const { core, clock } = createTestCore();
    const client = new FakeClient(core, 5);
    clock.advance(1234);
    const connectedAt = clock.now();
    client.connect({ keepAlive: 30, properties: { sessionExpiryInterval: 60 } });
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack' && connack.reasonCode === 0);
    const conn = client.connection;
    assert.equal(conn.handshake, undefined);
    assert.equal(conn.keepAlive, 30);
    assert.equal(conn.connectedAt, connectedAt);
    assert.equal(conn.sessionExpiryAtConnect, 60);
    assert.equal(conn.will, undefined);
  });

  it('keeps its handshake while it holds a will, and publishes the will when it is lost', () => {
    const { core } = createTestCore();
    const watcher = new FakeClient(core, 5);
    watcher.connect({ clientId: 'watcher' });
    watcher.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'w/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    watcher.take();
    const client = new FakeClient(core, 5);
    client.connect({ will: { topic: 'w/1', payload: Buffer.from('gone'), qos: 0, retain: false } });
    client.take();
    assert.notEqual(client.connection.handshake, undefined);
    assert.equal(client.connection.will?.topic, 'w/1');
    client.connection.transportClosed();
    const [publish] = watcher.ofType('publish');
    assert.equal(publish?.topic, 'w/1');
    assert.equal(publish?.payload.toString(), 'gone');
  });

  it('[MQTT-3.1.2-22] closes after 1.5 x the keep alive with its handshake gone (v5 DISCONNECT 0x8D)', () => {
    const { core, clock } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect({ keepAlive: 10 });
    client.take();
    assert.equal(client.connection.handshake, undefined);
    clock.advance(14_000);
    assert.equal(client.ended, false);
    clock.advance(1_000);
    const [disconnect] = client.take();
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x8d);
    assert.equal(client.ended, true);
  });

  it('a DISCONNECT raising the session expiry from 0 is still a protocol error with the handshake gone (MQTT 5 3.14.2.2.2)', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect();
    client.take();
    assert.equal(client.connection.handshake, undefined);
    client.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    const [disconnect] = client.take();
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    assert.equal(client.ended, true);
  });

  it('an AUTH from a client connected without an authentication method is a protocol error (MQTT 5 4.12)', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect();
    client.take();
    client.send({
      type: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: 'CHAL' },
    });
    const [disconnect] = client.take();
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    assert.equal(client.ended, true);
  });

  it('shares one limits object among MQTT 5 clients that announced no limits; announced ones are kept', () => {
    const { core } = createTestCore();
    const a = new FakeClient(core, 5);
    a.connect({ clientId: 'a', properties: {} });
    const b = new FakeClient(core, 5);
    b.connect({ clientId: 'b', properties: { sessionExpiryInterval: 10 } });
    const c = new FakeClient(core, 5);
    c.connect({ clientId: 'c', properties: { receiveMaximum: 10, topicAliasMaximum: 4 } });
    assert.equal(a.connection.peer, b.connection.peer);
    assert.equal(a.connection.peer.receiveMaximum, 65535);
    assert.equal(c.connection.peer.receiveMaximum, 10);
    assert.equal(c.connection.peer.topicAliasMaximum, 4);
    assert.equal(c.connection.sendWindow, Math.min(10, core.options.maxInflight));
  });
});
