/**
 * Conformance over TCP: the MQTT 3.1 differences from 3.1.1 (conformance/mqtt-3.1.yaml, ids
 * MQTT31-n). Pipit's deviations are shown as they are on the wire.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker } from '../helpers/broker.js';
import { connectBytes, pkt, RawClient, str } from '../helpers/raw-client.js';
import { connectRaw, gone, rawPackets, recordBytes, sub, subscribe } from './wire.js';

describe('conformance: MQTT 3.1 (MQIsdp, level 3)', () => {
  let tb: TestBroker;
  before(async () => {
    tb = await startBroker({ maxSubscriptionsPerClient: 1 });
  });
  after(async () => {
    await tb.close();
  });

  it('[MQTT31-4] a resumed 3.1 session gets a CONNACK whose first byte is 0: 3.1 has no Session Present flag', async () => {
    const first = await RawClient.connected(tb.port, 3, 'resume31', { clean: false });
    await subscribe(first, [sub('resume31/t', 1)]);
    first.destroy();
    await gone(tb, 'resume31');
    const client = await RawClient.open(tb.port, 3);
    const bytes = recordBytes(client);
    client.write(connectBytes(3, 'resume31', { clean: false }));
    assert.equal((await client.next('connack')).reasonCode, 0);
    const [connack] = rawPackets(bytes(), 2);
    assert.equal(connack![2], 0x00);
    client.destroy();
  });

  it('[MQTT31-2] deviation: a 3.1 client id longer than 23 characters is accepted (CONNACK 0, not 2)', async () => {
    const { client, connack } = await connectRaw(tb.port, 3, 'a-client-id-of-thirty-characters');
    assert.equal(connack.reasonCode, 0);
    client.destroy();
  });

  it('[MQTT31-5] deviation: a refused 3.1 subscription gets SUBACK 0x80, a code 3.1 does not define', async () => {
    const client = await RawClient.connected(tb.port, 3, 'suback31');
    const ack = await subscribe(client, [sub('suback31/a'), sub('suback31/b')]);
    assert.deepEqual(ack.reasonCodes, [0, 0x80]);
    client.destroy();
  });

  it('[MQTT31-6] a 3.1 PUBREL resent with DUP 1 is answered with PUBCOMP', async () => {
    const client = await RawClient.connected(tb.port, 3, 'dup31-pubrel');
    client.write(pkt(0x6a, '0001'));
    assert.equal((await client.next('pubcomp')).packetId, 1);
    assert.ok(client.isOpen);
    client.destroy();
  });

  it('[MQTT31-6] a 3.1 SUBSCRIBE resent with DUP 1 is answered with SUBACK', async () => {
    const client = await RawClient.connected(tb.port, 3, 'dup31-subscribe');
    client.write(pkt(0x8a, `0002 ${str('dup31/t')} 00`));
    const ack = await client.next('suback');
    assert.equal(ack.packetId, 2);
    assert.deepEqual(ack.reasonCodes, [0]);
    client.destroy();
  });

  it('[MQTT31-6] a 3.1 UNSUBSCRIBE resent with DUP 1 is answered with UNSUBACK', async () => {
    const client = await RawClient.connected(tb.port, 3, 'dup31-unsubscribe');
    client.write(pkt(0xaa, `0003 ${str('dup31/t')}`));
    assert.equal((await client.next('unsuback')).packetId, 3);
    assert.ok(client.isOpen);
    client.destroy();
  });
});
