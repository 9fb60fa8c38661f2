/**
 * MQTT 3.1 (level 3) fixed header and CONNECT flags: 3.1 has no reserved bits. DUP, QoS and
 * RETAIN are on every packet, "not used" where they mean nothing, and DUP is set on a
 * retried PUBREL, SUBSCRIBE or UNSUBSCRIBE. The 3.1.1 and 5.0 rules still hold for those
 * levels.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectHex, decodeAll, decodeError, hex, pkt, str } from './helpers.js';

describe('MQTT 3.1 fixed header flags', () => {
  test('PUBREL with DUP and QoS 1 (0x6A) decodes on a 3.1 connection', () => {
    const [pubrel] = decodeAll(hex('6a 02 0007'), { protocolVersion: 3 });
    assert.deepEqual(pubrel, { type: 'pubrel', packetId: 7 });
  });

  test('SUBSCRIBE and UNSUBSCRIBE with DUP set decode on a 3.1 connection', () => {
    const [sub, unsub] = decodeAll(
      Buffer.concat([pkt(0x8a, `0001 ${str('a/b')} 01`), pkt(0xaa, `0002 ${str('a/b')}`)]),
      { protocolVersion: 3 },
    );
    assert.equal(sub.type, 'subscribe');
    assert.equal(unsub.type, 'unsubscribe');
  });

  test('unused flags on PUBACK, PINGREQ and DISCONNECT are ignored on a 3.1 connection', () => {
    const packets = decodeAll(hex('4f 02 0001 c3 00 e1 00'), { protocolVersion: 3 });
    assert.deepEqual(
      packets.map((p) => p.type),
      ['puback', 'pingreq', 'disconnect'],
    );
  });

  test('[MQTT-3.6.1-1] PUBREL with DUP is still malformed on a 3.1.1 connection', () => {
    const err = decodeError(hex('6a 02 0007'), { protocolVersion: 4 });
    assert.equal(err.reasonCode, 0x81);
    assert.equal(err.specId, 'MQTT-3.6.1-1');
  });

  test('[MQTT-3.3.1-4] a 3.1 PUBLISH with QoS 3 is still malformed', () => {
    const err = decodeError(pkt(0x36, `${str('a')} 0001`), { protocolVersion: 3 });
    assert.equal(err.specId, 'MQTT-3.3.1-4');
  });
});

describe('MQTT 3.1 CONNECT', () => {
  const body31 = (flags: string) => `${str('MQIsdp')} 03 ${flags} 003c ${str('c')}`;

  test('a 3.1 CONNECT with fixed header flags set decodes (server side, level unknown)', () => {
    const [connect] = decodeAll(pkt(0x1f, body31('02')));
    assert.equal(connect.type, 'connect');
    assert.equal(connect.type === 'connect' && connect.protocolVersion, 3);
  });

  test('a 3.1 CONNECT with the reserved connect flag (bit 0) set decodes', () => {
    const [connect] = decodeAll(pkt(0x10, body31('03')));
    assert.equal(connect.type === 'connect' && connect.clean, true);
  });

  test('[MQTT-2.2.2-1] a 3.1.1 CONNECT with fixed header flags set is malformed', () => {
    const err = decodeError(pkt(0x12, `${str('MQTT')} 04 02 003c ${str('c')}`));
    assert.equal(err.reasonCode, 0x81);
    assert.equal(err.specId, 'MQTT-2.2.2-1');
  });

  test('[MQTT-2.1.3-1] a 5.0 CONNECT with fixed header flags set is malformed', () => {
    const err = decodeError(pkt(0x11, `${str('MQTT')} 05 02 003c 00 ${str('c')}`));
    assert.equal(err.specId, 'MQTT-2.1.3-1');
  });

  test('[MQTT-3.1.2-3] a 3.1.1 CONNECT with the reserved connect flag is still malformed', () => {
    const err = decodeError(pkt(0x10, `${str('MQTT')} 04 03 003c ${str('c')}`));
    assert.equal(err.specId, 'MQTT-3.1.2-3');
  });

  test('a second CONNECT on a 3.1 connection decodes (the core refuses it, not the codec)', () => {
    const packets = decodeAll(Buffer.concat([connectHex(3), pkt(0x1f, body31('02'))]));
    assert.deepEqual(
      packets.map((p) => p.type),
      ['connect', 'connect'],
    );
  });
});
