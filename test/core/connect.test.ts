import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestCore, FakeClient } from '../helpers/core-harness.js';

describe('core: CONNECT', () => {
  it('[MQTT-3.2.0-1] [MQTT-3.2.2-2] (v5) answers CONNECT with CONNACK 0x00 and no session present for a clean start', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect();
    const [connack] = client.take();
    assert.equal(connack?.type, 'connack');
    assert.equal(connack.type === 'connack' && connack.reasonCode, 0);
    assert.equal(connack.type === 'connack' && connack.sessionPresent, false);
  });

  it('[MQTT-3.1.0-1] closes a connection whose first packet is not CONNECT', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 4);
    client.send({ type: 'pingreq' });
    assert.equal(client.ended, true);
    assert.deepEqual(client.take(), []);
  });

  it('[MQTT-3.1.0-2] a second CONNECT is a protocol error (v5 DISCONNECT 0x82)', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect();
    client.take();
    client.connect();
    const [disconnect] = client.take();
    assert.equal(disconnect?.type, 'disconnect');
    assert.equal(disconnect.type === 'disconnect' && disconnect.reasonCode, 0x82);
    assert.equal(client.ended, true);
  });

  it('[MQTT-3.1.3-6] assigns a client id to a v5 client with an empty one', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect({ clientId: '' });
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.match(connack.properties?.assignedClientIdentifier ?? '', /^pipit-/);
  });

  it('[MQTT-3.1.3-8] rejects an empty client id with clean session 0 in 3.1.1 (0x02)', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 4);
    client.connect({ clientId: '', clean: false });
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.reasonCode, 0x02);
    assert.equal(client.ended, true);
  });

  it('[MQTT-3.1.2-22] closes after 1.5 x keep alive without packets (v5 DISCONNECT 0x8D)', () => {
    const { core, clock } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect({ keepAlive: 10 });
    client.take();
    clock.advance(14_000);
    assert.equal(client.ended, false);
    client.send({ type: 'pingreq' });
    assert.equal(client.take()[0]?.type, 'pingresp');
    clock.advance(14_999);
    assert.equal(client.ended, false);
    clock.advance(1);
    const [disconnect] = client.take();
    assert.ok(disconnect?.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x8d);
    assert.equal(client.ended, true);
  });

  it('closes a connection that sends no CONNECT within the connect timeout', () => {
    const { core, clock } = createTestCore({ connectTimeoutMs: 10_000 });
    const client = new FakeClient(core, 4);
    clock.advance(9_999);
    assert.equal(client.ended, false);
    clock.advance(1);
    assert.equal(client.ended, true);
  });
});
