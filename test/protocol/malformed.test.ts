/**
 * The malformed-input corpus: each case is raw bytes that a strict receiver must reject,
 * with the exact MQTT 5 reason code (0x81 malformed, 0x82 protocol error, ...) and the
 * normative statement id when there is one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DecoderOptions, ProtocolVersion } from '../../src/protocol/index.js';
import { decodeError, hex, pkt, str } from './helpers.js';

interface Case {
  name: string;
  bytes: Buffer;
  /** Decoder version; 'server' means a fresh decoder that has seen nothing yet. */
  version: ProtocolVersion | 'server';
  code: number;
  specId?: string;
  options?: DecoderOptions;
}

const MQTT = str('MQTT');
/** A v3.1.1 CONNECT with the given flags byte and payload hex (client id first). */
const connect4 = (flags: string, payload: string) =>
  pkt(0x10, `${MQTT} 04 ${flags} 003c ${payload}`);
/** A v5 CONNECT with the given flags, properties hex (with length) and payload hex. */
const connect5 = (flags: string, props: string, payload: string) =>
  pkt(0x10, `${MQTT} 05 ${flags} 003c ${props} ${payload}`);
const C = str('c');

const CASES: Case[] = [
  // Fixed header
  {
    name: 'first packet is not CONNECT',
    bytes: pkt(0x30, `${str('a')}`),
    version: 'server',
    code: 0x82,
    specId: 'MQTT-3.1.0-1',
  },
  { name: 'reserved packet type 0', bytes: hex('00 00'), version: 4, code: 0x81 },
  { name: 'AUTH on an MQTT 3.1.1 connection', bytes: hex('f0 00'), version: 4, code: 0x81 },
  {
    name: 'PUBLISH with both QoS bits set',
    bytes: pkt(0x36, `${str('a')} 0001`),
    version: 4,
    code: 0x81,
    specId: 'MQTT-3.3.1-4',
  },
  {
    name: 'PUBLISH QoS 0 with DUP',
    bytes: pkt(0x38, str('a')),
    version: 4,
    code: 0x81,
    specId: 'MQTT-3.3.1-2',
  },
  {
    name: 'PUBREL flags 0000',
    bytes: hex('60 02 0001'),
    version: 4,
    code: 0x81,
    specId: 'MQTT-3.6.1-1',
  },
  {
    name: 'SUBSCRIBE flags 0000',
    bytes: pkt(0x80, `0001 ${str('a')} 00`),
    version: 4,
    code: 0x81,
    specId: 'MQTT-3.8.1-1',
  },
  {
    name: 'UNSUBSCRIBE flags 0011',
    bytes: pkt(0xa3, `0001 ${str('a')}`),
    version: 4,
    code: 0x81,
    specId: 'MQTT-3.10.1-1',
  },
  {
    name: 'PUBACK reserved flag set (3.1.1)',
    bytes: hex('41 02 0001'),
    version: 4,
    code: 0x81,
    specId: 'MQTT-2.2.2-1',
  },
  {
    name: 'PINGREQ reserved flag set',
    bytes: hex('c1 00'),
    version: 4,
    code: 0x81,
    specId: 'MQTT-2.2.2-1',
  },
  {
    name: 'CONNACK reserved flag set (5.0)',
    bytes: hex('21 03 00 00 00'),
    version: 5,
    code: 0x81,
    specId: 'MQTT-2.1.3-1',
  },
  { name: 'remaining length of 5 bytes', bytes: hex('30 80 80 80 80 01'), version: 4, code: 0x81 },
  {
    name: 'remaining length not minimal',
    bytes: hex('d0 80 00'),
    version: 4,
    code: 0x81,
    specId: 'MQTT-1.5.5-1',
  },
  {
    name: 'packet over maximumPacketSize',
    bytes: hex('30 0a 0001 61 0102030405060708'),
    version: 4,
    code: 0x95,
    options: { maximumPacketSize: 11 },
  },
  // CONNECT
  {
    name: 'CONNECT level 6',
    bytes: pkt(0x10, `${MQTT} 06 02 003c ${C}`),
    version: 'server',
    code: 0x84,
    specId: 'MQTT-3.1.2-2',
  },
  {
    name: 'CONNECT MQIsdp with level 4',
    bytes: pkt(0x10, `${str('MQIsdp')} 04 02 003c ${C}`),
    version: 'server',
    code: 0x84,
    specId: 'MQTT-3.1.2-2',
  },
  {
    name: 'CONNECT MQTT with level 3',
    bytes: pkt(0x10, `${MQTT} 03 02 003c ${C}`),
    version: 'server',
    code: 0x84,
    specId: 'MQTT-3.1.2-2',
  },
  {
    name: 'CONNECT unknown protocol name',
    bytes: pkt(0x10, `${str('MQTX')} 04 02 003c ${C}`),
    version: 'server',
    code: 0x82,
    specId: 'MQTT-3.1.2-1',
  },
  {
    name: 'CONNECT reserved flag set',
    bytes: connect4('03', C),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-3.1.2-3',
  },
  {
    name: 'CONNECT will QoS without will flag (3.1.1)',
    bytes: connect4('0a', C),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-3.1.2-13',
  },
  {
    name: 'CONNECT will retain without will flag (3.1.1)',
    bytes: connect4('22', C),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-3.1.2-15',
  },
  {
    name: 'CONNECT will QoS 3 (3.1.1)',
    bytes: connect4('1e', `${C} ${str('w')} 0000`),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-3.1.2-14',
  },
  {
    name: 'CONNECT password without user name (3.1.1)',
    bytes: connect4('42', `${C} 0001 70`),
    version: 'server',
    code: 0x82,
    specId: 'MQTT-3.1.2-22',
  },
  {
    name: 'CONNECT will QoS without will flag (5.0)',
    bytes: connect5('0a', '00', C),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-3.1.2-11',
  },
  {
    name: 'CONNECT will retain without will flag (5.0)',
    bytes: connect5('22', '00', C),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-3.1.2-13',
  },
  {
    name: 'CONNECT with a byte after the payload',
    bytes: connect4('02', `${C} 00`),
    version: 'server',
    code: 0x81,
  },
  {
    name: 'CONNECT client id past the packet end',
    bytes: connect4('02', '0005 63'),
    version: 'server',
    code: 0x81,
  },
  {
    name: 'CONNECT client id not UTF-8',
    bytes: connect4('02', '0002 63ff'),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-1.5.4-1',
  },
  {
    name: 'CONNECT client id with U+0000',
    bytes: connect4('02', '0002 6300'),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-1.5.4-2',
  },
  {
    name: 'CONNECT client id with an encoded surrogate',
    bytes: connect4('02', '0003 eda080'),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-1.5.4-1',
  },
  {
    name: 'CONNECT client id with an overlong encoding',
    bytes: connect4('02', '0002 c0af'),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-1.5.4-1',
  },
  {
    name: 'CONNECT will topic with a wildcard',
    bytes: connect4('06', `${C} ${str('a/#')} 0000`),
    version: 'server',
    code: 0x90,
    specId: 'MQTT-4.7.0-1',
  },
  {
    name: 'CONNECT will flag but no will fields',
    bytes: connect4('06', C),
    version: 'server',
    code: 0x81,
  },
  {
    name: 'CONNECT topic alias property (not allowed)',
    bytes: connect5('02', '03 23 0001', C),
    version: 'server',
    code: 0x82,
  },
  {
    name: 'CONNECT receive maximum 0',
    bytes: connect5('02', '03 21 0000', C),
    version: 'server',
    code: 0x82,
  },
  {
    name: 'CONNECT maximum packet size 0',
    bytes: connect5('02', '05 27 00000000', C),
    version: 'server',
    code: 0x82,
  },
  {
    name: 'CONNECT session expiry twice',
    bytes: connect5('02', '0a 11 00000001 11 00000002', C),
    version: 'server',
    code: 0x82,
  },
  {
    name: 'CONNECT request problem information 2',
    bytes: connect5('02', '02 17 02', C),
    version: 'server',
    code: 0x82,
  },
  {
    name: 'CONNECT unknown property 0x7f',
    bytes: connect5('02', '02 7f 00', C),
    version: 'server',
    code: 0x81,
  },
  {
    name: 'CONNECT property id with a continuation bit',
    bytes: connect5('02', '03 80 01 00', C),
    version: 'server',
    code: 0x81,
  },
  {
    name: 'CONNECT property length past the packet end',
    bytes: connect5('02', '20 11 00000001', C),
    version: 'server',
    code: 0x81,
  },
  {
    name: 'CONNECT property value past the property block',
    bytes: connect5('02', '03 11 00000001', C),
    version: 'server',
    code: 0x81,
  },
  {
    name: 'CONNECT will delay outside the will properties',
    bytes: connect5('02', '05 18 00000001', C),
    version: 'server',
    code: 0x82,
  },
  {
    name: 'CONNECT user property key not UTF-8',
    bytes: connect5('02', '07 26 0001 ff 0001 61', C),
    version: 'server',
    code: 0x81,
    specId: 'MQTT-1.5.4-1',
  },
  // PUBLISH
  {
    name: 'PUBLISH topic with +',
    bytes: pkt(0x30, `${str('a/+')}`),
    version: 4,
    code: 0x90,
    specId: 'MQTT-4.7.0-1',
  },
  {
    name: 'PUBLISH topic with #',
    bytes: pkt(0x30, `${str('#')}`),
    version: 5,
    code: 0x90,
    specId: 'MQTT-4.7.0-1',
  },
  {
    name: 'PUBLISH empty topic (3.1.1)',
    bytes: pkt(0x30, '0000 61'),
    version: 4,
    code: 0x90,
    specId: 'MQTT-4.7.3-1',
  },
  {
    name: 'PUBLISH empty topic without topic alias (5.0)',
    bytes: pkt(0x30, '0000 00 61'),
    version: 5,
    code: 0x82,
  },
  {
    name: 'PUBLISH QoS 1 with packet id 0',
    bytes: pkt(0x32, `${str('a')} 0000`),
    version: 4,
    code: 0x82,
    specId: 'MQTT-2.2.1-3',
  },
  { name: 'PUBLISH QoS 1 without packet id', bytes: pkt(0x32, str('a')), version: 4, code: 0x81 },
  { name: 'PUBLISH topic past the packet end', bytes: hex('30 02 0005'), version: 4, code: 0x81 },
  {
    name: 'PUBLISH topic not UTF-8',
    bytes: pkt(0x30, '0002 c328'),
    version: 4,
    code: 0x81,
    specId: 'MQTT-1.5.4-1',
  },
  {
    name: 'PUBLISH topic alias 0',
    bytes: pkt(0x30, `${str('a')} 03 23 0000`),
    version: 5,
    code: 0x94,
    specId: 'MQTT-3.3.2-8',
  },
  {
    name: 'PUBLISH payload format indicator 2',
    bytes: pkt(0x30, `${str('a')} 02 01 02`),
    version: 5,
    code: 0x82,
  },
  {
    name: 'PUBLISH subscription identifier 0',
    bytes: pkt(0x30, `${str('a')} 02 0b 00`),
    version: 5,
    code: 0x82,
  },
  {
    name: 'PUBLISH subscription identifier of 5 bytes',
    bytes: pkt(0x30, `${str('a')} 06 0b 8080808001`),
    version: 5,
    code: 0x81,
  },
  {
    name: 'PUBLISH session expiry (not allowed)',
    bytes: pkt(0x30, `${str('a')} 05 11 00000001`),
    version: 5,
    code: 0x82,
  },
  {
    name: 'PUBLISH content type twice',
    bytes: pkt(0x30, `${str('a')} 08 03 0001 61 03 0001 62`),
    version: 5,
    code: 0x82,
  },
  // Acknowledgements
  {
    name: 'PUBACK with a trailing byte (3.1.1)',
    bytes: hex('40 03 0001 00'),
    version: 4,
    code: 0x81,
  },
  { name: 'PUBACK too short', bytes: hex('40 01 00'), version: 4, code: 0x81 },
  {
    name: 'PUBACK packet id 0',
    bytes: hex('40 02 0000'),
    version: 4,
    code: 0x82,
    specId: 'MQTT-2.2.1-3',
  },
  { name: 'PUBACK reason code 0x01 (5.0)', bytes: hex('40 03 0001 01'), version: 5, code: 0x82 },
  { name: 'PUBREL reason code 0x10 (5.0)', bytes: hex('62 03 0001 10'), version: 5, code: 0x82 },
  {
    name: 'PUBCOMP with a property not allowed',
    bytes: hex('70 09 0001 00 05 11 00000001'),
    version: 5,
    code: 0x82,
  },
  {
    name: 'CONNACK reserved flags in the variable header',
    bytes: hex('20 02 02 00'),
    version: 4,
    code: 0x81,
    specId: 'MQTT-3.2.2-1',
  },
  { name: 'CONNACK return code 6 (3.1.1)', bytes: hex('20 02 00 06'), version: 4, code: 0x82 },
  {
    name: 'CONNACK session present with a failure',
    bytes: hex('20 02 01 05'),
    version: 4,
    code: 0x82,
    specId: 'MQTT-3.2.2-4',
  },
  { name: 'CONNACK of 3 bytes (3.1.1)', bytes: hex('20 03 00 00 00'), version: 4, code: 0x81 },
  { name: 'CONNACK reason code 0x10 (5.0)', bytes: hex('20 03 00 10 00'), version: 5, code: 0x82 },
  { name: 'PINGREQ with a body', bytes: hex('c0 01 00'), version: 4, code: 0x81 },
  { name: 'DISCONNECT with a body (3.1.1)', bytes: hex('e0 01 00'), version: 4, code: 0x81 },
  { name: 'DISCONNECT reason code 0x05 (5.0)', bytes: hex('e0 01 05'), version: 5, code: 0x82 },
  { name: 'AUTH reason code 0x01', bytes: hex('f0 02 01 00'), version: 5, code: 0x82 },
  {
    name: 'AUTH with session expiry',
    bytes: hex('f0 07 18 05 11 00000001'),
    version: 5,
    code: 0x82,
  },
  // SUBSCRIBE / UNSUBSCRIBE and their acks
  {
    name: 'SUBSCRIBE without filters (3.1.1)',
    bytes: hex('82 02 0001'),
    version: 4,
    code: 0x82,
    specId: 'MQTT-3.8.3-3',
  },
  {
    name: 'SUBSCRIBE without filters (5.0)',
    bytes: hex('82 03 0001 00'),
    version: 5,
    code: 0x82,
    specId: 'MQTT-3.8.3-2',
  },
  {
    name: 'SUBSCRIBE packet id 0',
    bytes: pkt(0x82, `0000 ${str('a')} 00`),
    version: 4,
    code: 0x82,
    specId: 'MQTT-2.2.1-3',
  },
  {
    name: 'SUBSCRIBE reserved option bits (3.1.1)',
    bytes: pkt(0x82, `0001 ${str('a')} 04`),
    version: 4,
    code: 0x81,
    specId: 'MQTT-3.8.3-4',
  },
  {
    name: 'SUBSCRIBE QoS 3 (3.1.1)',
    bytes: pkt(0x82, `0001 ${str('a')} 03`),
    version: 4,
    code: 0x81,
    specId: 'MQTT-3.8.3-4',
  },
  {
    name: 'SUBSCRIBE reserved option bits (5.0)',
    bytes: pkt(0x82, `0001 00 ${str('a')} 40`),
    version: 5,
    code: 0x81,
    specId: 'MQTT-3.8.3-5',
  },
  {
    name: 'SUBSCRIBE QoS 3 (5.0)',
    bytes: pkt(0x82, `0001 00 ${str('a')} 03`),
    version: 5,
    code: 0x82,
  },
  {
    name: 'SUBSCRIBE retain handling 3',
    bytes: pkt(0x82, `0001 00 ${str('a')} 30`),
    version: 5,
    code: 0x82,
  },
  {
    name: 'SUBSCRIBE No Local on a shared subscription',
    bytes: pkt(0x82, `0001 00 ${str('$share/g/a')} 04`),
    version: 5,
    code: 0x82,
    specId: 'MQTT-3.8.3-4',
  },
  {
    name: 'SUBSCRIBE without options byte',
    bytes: pkt(0x82, `0001 ${str('a')}`),
    version: 4,
    code: 0x81,
  },
  {
    name: 'SUBSCRIBE two subscription identifiers',
    bytes: pkt(0x82, `0001 04 0b 01 0b 02 ${str('a')} 00`),
    version: 5,
    code: 0x82,
  },
  {
    name: 'SUBSCRIBE filter with # not last',
    bytes: pkt(0x82, `0001 ${str('a/#/b')} 00`),
    version: 4,
    code: 0x8f,
    specId: 'MQTT-4.7.1-1',
  },
  {
    name: 'SUBSCRIBE filter with # inside a level',
    bytes: pkt(0x82, `0001 ${str('a/b#')} 00`),
    version: 4,
    code: 0x8f,
    specId: 'MQTT-4.7.1-1',
  },
  {
    name: 'SUBSCRIBE filter with + inside a level',
    bytes: pkt(0x82, `0001 ${str('a/b+')} 00`),
    version: 4,
    code: 0x8f,
    specId: 'MQTT-4.7.1-2',
  },
  {
    name: 'SUBSCRIBE empty filter',
    bytes: pkt(0x82, '0001 0000 00'),
    version: 4,
    code: 0x8f,
    specId: 'MQTT-4.7.3-1',
  },
  {
    name: 'SUBSCRIBE $share without a filter',
    bytes: pkt(0x82, `0001 ${str('$share/g')} 00`),
    version: 4,
    code: 0x8f,
    specId: 'MQTT-4.8.2-2',
  },
  {
    name: 'SUBSCRIBE $share with an empty share name',
    bytes: pkt(0x82, `0001 ${str('$share//a')} 00`),
    version: 4,
    code: 0x8f,
    specId: 'MQTT-4.8.2-1',
  },
  {
    name: 'SUBSCRIBE $share name with a wildcard',
    bytes: pkt(0x82, `0001 ${str('$share/g+/a')} 00`),
    version: 4,
    code: 0x8f,
    specId: 'MQTT-4.8.2-2',
  },
  {
    name: 'UNSUBSCRIBE without filters',
    bytes: hex('a2 02 0001'),
    version: 4,
    code: 0x82,
    specId: 'MQTT-3.10.3-2',
  },
  {
    name: 'UNSUBSCRIBE bad filter',
    bytes: pkt(0xa2, `0001 ${str('#/a')}`),
    version: 4,
    code: 0x8f,
    specId: 'MQTT-4.7.1-1',
  },
  { name: 'SUBACK return code 0x03 (3.1.1)', bytes: hex('90 03 0001 03'), version: 4, code: 0x82 },
  { name: 'SUBACK without return codes', bytes: hex('90 02 0001'), version: 4, code: 0x82 },
  { name: 'SUBACK reason code 0x11 (5.0)', bytes: hex('90 04 0001 00 11'), version: 5, code: 0x82 },
  {
    name: 'UNSUBACK with a trailing byte (3.1.1)',
    bytes: hex('b0 03 0001 00'),
    version: 4,
    code: 0x81,
  },
  {
    name: 'UNSUBACK reason code 0x01 (5.0)',
    bytes: hex('b0 04 0001 00 01'),
    version: 5,
    code: 0x82,
  },
];

describe('malformed corpus', () => {
  it('has at least 50 cases', () => {
    assert.ok(CASES.length >= 50, `${CASES.length} cases`);
  });
  for (const c of CASES) {
    const title = c.specId ? `[${c.specId}] ${c.name}` : c.name;
    it(`${title} -> 0x${c.code.toString(16)}`, () => {
      const options: DecoderOptions = { ...c.options };
      if (c.version !== 'server') options.protocolVersion = c.version;
      const err = decodeError(c.bytes, options);
      assert.equal(err.reasonCode, c.code, err.message);
      assert.equal(err.specId, c.specId, err.message);
    });
  }
});
