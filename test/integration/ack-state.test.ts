/**
 * Acknowledgements for a packet id in flight in another state, and a client Maximum Packet
 * Size too small for the CONNACK, with the exact answers on the wire (raw sockets).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ProtocolVersion, QoS } from '../../src/protocol/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectBytes, hex, RawClient } from '../helpers/raw-client.js';

let server: TestBroker;
before(async () => {
  server = await startBroker();
});
after(() => server.close());

/** A raw subscriber on `topic` that has been sent one message at `qos`; returns its packet id. */
async function subscriberWithMessage(
  version: ProtocolVersion,
  tag: string,
  qos: QoS,
): Promise<{ client: RawClient; packetId: number }> {
  const topic = `ack-state/${tag}`;
  const client = await RawClient.connected(server.port, version, `sub-${tag}`);
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter: topic, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
  });
  await client.next('suback');
  await server.broker.publish({ topic, payload: 'm', qos });
  const publish = await client.next('publish');
  assert.equal(publish.qos, qos);
  return { client, packetId: publish.packetId! };
}

describe('acknowledgements in another state', () => {
  test('[MQTT-4.8.0-1] a PUBACK for a QoS 2 message closes a 3.1.1 connection', async () => {
    const { client, packetId } = await subscriberWithMessage(4, 'puback-qos2-v4', 2);
    client.send({ type: 'puback', packetId });
    await client.waitClose();
    assert.deepEqual(client.received, []);
  });

  test('[MQTT-4.13.1-1] a PUBACK for a QoS 2 message gets DISCONNECT 0x82 in MQTT 5', async () => {
    const { client, packetId } = await subscriberWithMessage(5, 'puback-qos2-v5', 2);
    client.send({ type: 'puback', packetId });
    const disconnect = await client.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    assert.match(
      String(disconnect.properties?.reasonString),
      /PUBACK .* QoS 2 message awaiting PUBREC/,
    );
    await client.waitClose();
  });

  test('[MQTT-4.8.0-1] a PUBREC for a QoS 1 message closes a 3.1.1 connection (no PUBREL)', async () => {
    const { client, packetId } = await subscriberWithMessage(4, 'pubrec-qos1-v4', 1);
    client.send({ type: 'pubrec', packetId });
    await client.waitClose();
    assert.deepEqual(client.received, []);
  });

  test('[MQTT-4.13.1-1] a PUBCOMP before the PUBREL gets DISCONNECT 0x82 in MQTT 5', async () => {
    const { client, packetId } = await subscriberWithMessage(5, 'pubcomp-early-v5', 2);
    client.send({ type: 'pubcomp', packetId });
    assert.equal((await client.next('disconnect')).reasonCode, 0x82);
    await client.waitClose();
  });

  test('a PUBACK for an id with nothing in flight is ignored; the QoS 1 flow still completes', async () => {
    const { client, packetId } = await subscriberWithMessage(4, 'puback-unknown', 1);
    client.send({ type: 'puback', packetId: packetId === 9 ? 10 : 9 });
    client.send({ type: 'puback', packetId });
    client.write(hex('c0 00'));
    await client.next('pingresp');
    assert.equal(client.isOpen, true);
    client.destroy();
  });

  test('a PUBREC for an unknown id gets PUBREL 0x92 in MQTT 5 and the connection stays', async () => {
    const client = await RawClient.connected(server.port, 5, 'pubrec-unknown');
    client.send({ type: 'pubrec', packetId: 77 });
    const pubrel = await client.next('pubrel');
    assert.equal(pubrel.packetId, 77);
    assert.equal(pubrel.reasonCode, 0x92);
    client.destroy();
  });
});

/** Opens a v5 connection announcing `maximumPacketSize` and records the raw bytes received. */
async function connectWithMaximum(maximumPacketSize: number, clientId: string) {
  const client = await RawClient.open(server.port, 5);
  const chunks: Buffer[] = [];
  client.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  client.write(connectBytes(5, clientId, { properties: { maximumPacketSize } }));
  return { client, bytes: () => Buffer.concat(chunks) };
}

describe('a CONNACK over the client Maximum Packet Size', () => {
  test('[MQTT-3.1.2-24] Maximum Packet Size 2: no CONNACK at all, the connection closes', async () => {
    const { client, bytes } = await connectWithMaximum(2, 'mps-2');
    await client.waitClose();
    assert.equal(bytes().length, 0);
    assert.equal(await server.broker.admin.session('mps-2'), undefined);
  });

  test('[MQTT-3.1.2-24] a CONNACK 0x00 one byte too big: CONNACK 0x95 without properties instead', async () => {
    // This broker's CONNACK 0x00 is 16 bytes (Receive Maximum, Maximum Packet Size, Topic Alias Maximum).
    const { client, bytes } = await connectWithMaximum(15, 'mps-15');
    await client.waitClose();
    assert.equal(bytes().toString('hex'), '2003009500');
  });

  test('Maximum Packet Size 16 gets the whole 16-byte CONNACK 0x00', async () => {
    const { client, bytes } = await connectWithMaximum(16, 'mps-16');
    const connack = await client.next('connack');
    assert.equal(connack.reasonCode, 0);
    assert.equal(bytes().length, 16);
    client.destroy();
  });
});
