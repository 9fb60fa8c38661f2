/**
 * The malformed-input corpus (fixed header and CONNECT): raw bytes a strict receiver must reject, each with
 * the exact MQTT 5 reason code (0x81 malformed, 0x82 protocol error, ...) and the
 * normative statement id when there is one.
 */

import { hex, pkt, str } from './helpers.js';
import { type Case, runCorpus } from './malformed-corpus.js';

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
];

runCorpus('malformed corpus: fixed header and CONNECT', CASES);
