/**
 * MQTT 3.1 (protocol level 3) over real sockets: the bits 3.1 leaves unused are not errors.
 * A 3.1 client that sets them, or retries a PUBREL with DUP as the 3.1 specification has
 * it, is served; the same bytes on a 3.1.1 connection still close it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hex, pkt, RawClient, str } from '../helpers/raw-client.js';

let server: TestBroker;
before(async () => {
  server = await startBroker();
});
after(() => server.close());

/** A 3.1 CONNECT with the given first byte and connect flags. */
function connect31(first: number, flags: string, clientId: string): Buffer {
  return pkt(first, `${str('MQIsdp')} 03 ${flags} 003c ${str(clientId)}`);
}

describe('MQTT 3.1 unused bits', () => {
  test('a 3.1 CONNECT with the reserved connect flag set gets CONNACK 0x00 (no [MQTT-3.1.2-3] in 3.1)', async () => {
    const client = await RawClient.open(server.port, 3);
    client.write(connect31(0x10, '03', 'v31-reserved'));
    const connack = await client.next('connack');
    assert.equal(connack.reasonCode, 0);
    client.destroy();
  });

  test('a 3.1 CONNECT with fixed header flags set gets CONNACK 0x00', async () => {
    const client = await RawClient.open(server.port, 3);
    client.write(connect31(0x1a, '02', 'v31-header'));
    assert.equal((await client.next('connack')).reasonCode, 0);
    client.write(hex('c3 00')); // PINGREQ with its unused bits set
    await client.next('pingresp');
    client.destroy();
  });

  test('[MQTT-2.2.2-1] a 3.1.1 CONNECT with fixed header flags set is closed without CONNACK', async () => {
    const client = await RawClient.open(server.port, 4);
    client.write(pkt(0x12, `${str('MQTT')} 04 02 003c ${str('v311-header')}`));
    await client.waitClose();
    assert.deepEqual(client.received, []);
  });

  test('a 3.1 PUBREL resent with DUP after a reconnect gets PUBCOMP and the connection stays', async () => {
    const first = await RawClient.open(server.port, 3);
    first.write(connect31(0x10, '00', 'v31-pubrel')); // clean session 0
    assert.equal((await first.next('connack')).reasonCode, 0);
    first.write(pkt(0x34, `${str('v31/qos2')} 0007 ${Buffer.from('x').toString('hex')}`));
    assert.equal((await first.next('pubrec')).packetId, 7);
    first.destroy(); // the PUBREL never left: the client retries it after reconnecting
    await first.closed;
    const second = await RawClient.open(server.port, 3);
    second.write(connect31(0x10, '00', 'v31-pubrel'));
    assert.equal((await second.next('connack')).reasonCode, 0);
    second.write(hex('6a 02 0007')); // PUBREL, DUP=1 QoS=1, as 3.1 sends a retry
    assert.equal((await second.next('pubcomp')).packetId, 7);
    second.write(hex('c0 00'));
    await second.next('pingresp');
    assert.equal(second.isOpen, true);
    second.destroy();
  });

  test('[MQTT-3.6.1-1] the same PUBREL with DUP on a 3.1.1 connection closes it', async () => {
    const client = await RawClient.connected(server.port, 4, 'v311-pubrel');
    client.write(hex('6a 02 0007'));
    await client.waitClose();
    assert.deepEqual(client.received, []);
  });

  test('a 3.1 SUBSCRIBE retried with DUP set gets SUBACK', async () => {
    const client = await RawClient.connected(server.port, 3, 'v31-sub');
    client.write(pkt(0x8a, `0003 ${str('v31/#')} 01`));
    const suback = await client.next('suback');
    assert.equal(suback.packetId, 3);
    assert.deepEqual(suback.reasonCodes, [1]);
    client.destroy();
  });
});
