/**
 * The hostile cases sent before (or instead of) a valid CONNECT. The broker knows no version
 * yet: apart from an unsupported protocol level (CONNACK 0x01 [MQTT-3.1.2-2]) it closes
 * without a CONNACK, which both versions allow for a malformed CONNECT [MQTT-3.1.4-1]
 * [MQTT-4.13.1-1]. Not a test file: cases.ts assembles the table.
 */
import { connectBytes, hex, pkt, str, varint } from '../helpers/raw-client.js';
import {
  C,
  close,
  connect4,
  connect5,
  deepTopic,
  type HostileCase,
  longTopic,
  MQTT,
} from './case-kit.js';

/** Malformed or out-of-order input before (or instead of) a valid CONNECT. */
export const beforeConnect: HostileCase[] = [
  {
    name: '[MQTT-3.1.0-1] PUBLISH as the first packet',
    version: 4,
    bytes: pkt(0x30, `${str('a')} 61`),
    expect: close,
  },
  {
    name: '[MQTT-3.1.0-1] SUBSCRIBE as the first packet',
    version: 4,
    bytes: pkt(0x82, `0001 ${str('a')} 00`),
    expect: close,
  },
  {
    name: '[MQTT-3.1.0-1] PINGREQ as the first packet',
    version: 4,
    bytes: hex('c0 00'),
    expect: close,
  },
  {
    name: '[MQTT-3.1.0-1] DISCONNECT as the first packet',
    version: 4,
    bytes: hex('e0 00'),
    expect: close,
  },
  {
    name: '[MQTT-3.1.0-1] AUTH as the first packet',
    version: 5,
    bytes: hex('f0 00'),
    expect: close,
  },
  {
    name: '[MQTT-2.2.2-2] CONNECT with fixed header flags 0001',
    version: 4,
    bytes: Buffer.concat([Buffer.from([0x11]), connectBytes(4, 'c').subarray(1)]),
    expect: close,
  },
  {
    name: '[MQTT-3.1.2-3] CONNECT reserved flag set (3.1.1)',
    version: 4,
    bytes: connect4('03', C),
    expect: close,
  },
  {
    name: '[MQTT-3.1.2-3] CONNECT reserved flag set (5.0)',
    version: 5,
    bytes: connect5('03', '00', C),
    expect: close,
  },
  {
    name: '[MQTT-3.1.2-2] unsupported protocol level 6: CONNACK 0x01',
    version: 4,
    bytes: pkt(0x10, `${MQTT} 06 02 0000 ${C}`),
    expect: { kind: 'connack', code: 0x01 },
  },
  {
    name: '[MQTT-3.1.2-1] protocol name MQTX',
    version: 4,
    bytes: pkt(0x10, `${str('MQTX')} 04 02 0000 ${C}`),
    expect: close,
  },
  {
    name: '[MQTT-3.1.2-13] will QoS 1 without the will flag',
    version: 4,
    bytes: connect4('0a', C),
    expect: close,
  },
  {
    name: '[MQTT-3.1.2-14] will QoS 3',
    version: 4,
    bytes: connect4('1e', `${C} ${str('w')} ${str('x')}`),
    expect: close,
  },
  {
    name: '[MQTT-3.1.2-15] will retain without the will flag',
    version: 4,
    bytes: connect4('22', C),
    expect: close,
  },
  {
    name: '[MQTT-3.1.2-22] password flag without user name (3.1.1)',
    version: 4,
    bytes: connect4('42', `${C} ${str('p')}`),
    expect: close,
  },
  {
    name: '[MQTT-1.5.3-1] client id that is not UTF-8',
    version: 4,
    bytes: connect4('02', '0002 c328'),
    expect: close,
  },
  {
    name: '[MQTT-1.5.3-2] client id with U+0000',
    version: 4,
    bytes: connect4('02', '0002 6100'),
    expect: close,
  },
  {
    name: 'client id longer than the packet',
    version: 4,
    bytes: connect4('02', '000a 616263'),
    expect: close,
  },
  {
    name: 'CONNECT shorter than its variable header',
    version: 4,
    bytes: pkt(0x10, `${MQTT} 04`),
    expect: close,
  },
  {
    name: 'remaining length of five bytes (at most four, section 2.2.3)',
    version: 4,
    bytes: hex('10 ff ff ff ff 7f'),
    expect: close,
  },
  {
    name: 'duplicate Session Expiry Interval in a v5 CONNECT',
    version: 5,
    bytes: connect5('02', '0a 11 00000001 11 00000002', C),
    expect: close,
  },
  {
    name: 'unknown property 0x7f in a v5 CONNECT',
    version: 5,
    bytes: connect5('02', '02 7f 00', C),
    expect: close,
  },
  {
    name: 'Topic Alias (not allowed) in a v5 CONNECT',
    version: 5,
    bytes: connect5('02', '03 23 0001', C),
    expect: close,
  },
  {
    name: 'Receive Maximum 0 in a v5 CONNECT',
    version: 5,
    bytes: connect5('02', '03 21 0000', C),
    expect: close,
  },
  {
    name: 'Maximum Packet Size 0 in a v5 CONNECT',
    version: 5,
    bytes: connect5('02', '05 27 00000000', C),
    expect: close,
  },
  {
    name: 'Authentication Data without Authentication Method: CONNACK 0x82',
    version: 5,
    bytes: connect5('02', '04 16 0001 61', C),
    expect: { kind: 'connack', code: 0x82 },
  },
  {
    name: 'v5 CONNECT property length past the packet end',
    version: 5,
    bytes: connect5('02', '40 11 00000001', C),
    expect: close,
  },
  {
    name: '[MQTT-4.7.0-1] will topic with a wildcard (5.0)',
    version: 5,
    bytes: connect5('06', '00', `${C} 00 ${str('w/+')} ${str('x')}`),
    expect: close,
  },
  {
    name: 'user property key that is not UTF-8 (5.0 CONNECT)',
    version: 5,
    bytes: connect5('02', '07 26 0002 c328 0000', C),
    expect: close,
  },
  {
    name: '[MQTT-3.1.3-8] empty client id with clean session 0: CONNACK 0x02',
    version: 4,
    bytes: connect4('00', '0000'),
    expect: { kind: 'connack', code: 0x02 },
  },
  {
    name: 'empty client id on MQTT 3.1 (1-23 characters required): CONNACK 0x02',
    version: 3,
    bytes: pkt(0x10, `${str('MQIsdp')} 03 02 0000 0000`),
    expect: { kind: 'connack', code: 0x02 },
  },
  {
    name: 'will topic past maxTopicLength: CONNACK 0x90 (5.0)',
    version: 5,
    bytes: connectBytes(5, 'w', {
      will: { topic: longTopic, payload: Buffer.from('x'), qos: 0, retain: false },
    }),
    expect: { kind: 'connack', code: 0x90 },
  },
  {
    name: 'will topic past maxTopicLevels: CONNACK 0x03 (3.1.1)',
    version: 4,
    bytes: connectBytes(4, 'w', {
      will: { topic: deepTopic, payload: Buffer.from('x'), qos: 0, retain: false },
    }),
    expect: { kind: 'connack', code: 0x03 },
  },
  {
    name: 'CONNECT announcing 200 MB is refused from its fixed header',
    version: 4,
    bytes: Buffer.concat([Buffer.from([0x10]), varint(200 * 1024 * 1024), hex('0004 4d515454 04')]),
    expect: close,
  },
  {
    name: 'PUBLISH announcing the largest remaining length before CONNECT',
    version: 4,
    bytes: hex('30 ff ff ff 7f 00'),
    expect: close,
  },
];
