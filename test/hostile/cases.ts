/**
 * The hostile-input table: raw bytes a client may send, and the exact answer the spec asks
 * of the broker. Spec statement ids are in the names. Not a test file: protocol.test.ts
 * runs it over real TCP.
 *
 * Before a valid CONNECT the broker knows no version: apart from an unsupported protocol
 * level (CONNACK 0x01 [MQTT-3.1.2-2]) it closes without a CONNACK, which both versions
 * allow for a malformed CONNECT [MQTT-3.1.4-1] [MQTT-4.13.1-1]. After CONNACK a v5 client
 * gets DISCONNECT with the reason code [MQTT-4.13.1-1] and a v3 client a close [MQTT-4.8.0-1].
 */
import type { ProtocolVersion } from '../../src/protocol/index.js';
import { connectBytes, hex, pkt, str, varint } from '../helpers/raw-client.js';

/** What the broker must do. */
export type Expectation =
  /** Close without sending anything (after the CONNACK of `connectFirst`). */
  | { kind: 'close' }
  /** CONNACK with this code, then close. */
  | { kind: 'connack'; code: number }
  /** v5 DISCONNECT with this code, then close. */
  | { kind: 'disconnect'; code: number }
  /** An answer packet (PUBACK, SUBACK, ...) with these codes; the connection stays open. */
  | { kind: 'answer'; type: 'puback' | 'pubrec' | 'suback'; codes: number[] };

/** One hostile input. */
export interface HostileCase {
  name: string;
  version: ProtocolVersion;
  /** Send a valid CONNECT (and wait for CONNACK 0x00) before `bytes`. */
  connectFirst?: boolean;
  bytes: Buffer;
  expect: Expectation;
}

/** The limits of the broker the table runs against. */
export const TABLE_BROKER = {
  maxTopicLength: 256,
  maxTopicLevels: 16,
  maximumPacketSize: 64 * 1024,
  receiveMaximum: 5,
  topicAliasMaximum: 10,
  connectTimeoutMs: 3000,
} as const;

const MQTT = str('MQTT');
const C = str('c');
const close: Expectation = { kind: 'close' };
const disconnect = (code: number): Expectation => ({ kind: 'disconnect', code });
/** A v3.1.1 CONNECT with this flags byte and payload hex. */
const connect4 = (flags: string, payload: string) =>
  pkt(0x10, `${MQTT} 04 ${flags} 0000 ${payload}`);
/** A v5 CONNECT with this flags byte, properties (length included) and payload hex. */
const connect5 = (flags: string, props: string, payload: string) =>
  pkt(0x10, `${MQTT} 05 ${flags} 0000 ${props} ${payload}`);
/** A v5 PUBLISH QoS 0 to `topic` with these properties (length included). */
const publish5 = (topic: string, props: string, first = 0x30) =>
  pkt(first, `${str(topic)} ${props} 61`);
const longTopic = `t/${'x'.repeat(TABLE_BROKER.maxTopicLength)}`;
const deepTopic = Array.from({ length: TABLE_BROKER.maxTopicLevels + 1 }, () => 'l').join('/');

/** Malformed or out-of-order input before (or instead of) a valid CONNECT. */
const beforeConnect: HostileCase[] = [
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

/** Violations on a connected MQTT 3.1.1 session: the broker closes [MQTT-4.8.0-1]. */
const connected4: HostileCase[] = [
  { name: '[MQTT-3.1.0-2] second CONNECT (3.1.1)', version: 4, bytes: connectBytes(4, 'again') },
  {
    name: '[MQTT-3.3.1-4] PUBLISH with QoS 3',
    version: 4,
    bytes: pkt(0x36, `${str('a')} 0001 61`),
  },
  {
    name: '[MQTT-2.3.1-1] PUBLISH QoS 1 with packet id 0',
    version: 4,
    bytes: pkt(0x32, `${str('a')} 0000 61`),
  },
  {
    name: '[MQTT-3.3.2-2] PUBLISH topic with a wildcard',
    version: 4,
    bytes: pkt(0x30, `${str('a/+')} 61`),
  },
  { name: '[MQTT-4.7.3-1] PUBLISH with an empty topic', version: 4, bytes: pkt(0x30, '0000 61') },
  {
    name: '[MQTT-3.3.1-2] PUBLISH QoS 0 with DUP set',
    version: 4,
    bytes: pkt(0x38, `${str('a')} 61`),
  },
  { name: 'PUBLISH topic longer than the packet', version: 4, bytes: hex('30 03 0005 61') },
  {
    name: '[MQTT-1.5.3-1] PUBLISH topic that is not UTF-8',
    version: 4,
    bytes: pkt(0x30, '0002 c328 61'),
  },
  {
    name: '[MQTT-1.5.3-2] PUBLISH topic with U+0000',
    version: 4,
    bytes: pkt(0x30, '0002 6100 61'),
  },
  {
    name: '[MQTT-3.8.1-1] SUBSCRIBE with flags 0000',
    version: 4,
    bytes: pkt(0x80, `0001 ${str('a')} 00`),
  },
  { name: '[MQTT-3.8.3-3] SUBSCRIBE without filters', version: 4, bytes: hex('82 02 0001') },
  {
    name: '[MQTT-3.8.3-4] SUBSCRIBE with requested QoS 3',
    version: 4,
    bytes: pkt(0x82, `0001 ${str('a')} 03`),
  },
  {
    name: '[MQTT-3.8.3-4] SUBSCRIBE with reserved option bits',
    version: 4,
    bytes: pkt(0x82, `0001 ${str('a')} 04`),
  },
  {
    name: '[MQTT-4.7.1-2] SUBSCRIBE filter with # not last',
    version: 4,
    bytes: pkt(0x82, `0001 ${str('a/#/b')} 00`),
  },
  {
    name: '[MQTT-2.3.1-1] SUBSCRIBE with packet id 0',
    version: 4,
    bytes: pkt(0x82, `0000 ${str('a')} 00`),
  },
  {
    name: '[MQTT-3.10.1-1] UNSUBSCRIBE with flags 0011',
    version: 4,
    bytes: pkt(0xa3, `0001 ${str('a')}`),
  },
  { name: '[MQTT-3.10.3-2] UNSUBSCRIBE without filters', version: 4, bytes: hex('a2 02 0001') },
  { name: '[MQTT-3.6.1-1] PUBREL with flags 0000', version: 4, bytes: hex('60 02 0001') },
  { name: '[MQTT-2.2.2-1] PINGREQ with a reserved flag', version: 4, bytes: hex('c1 00') },
  { name: 'PINGREQ with a body', version: 4, bytes: hex('c0 01 00') },
  { name: 'DISCONNECT with a body (3.1.1)', version: 4, bytes: hex('e0 01 00') },
  { name: 'CONNACK sent by a client', version: 4, bytes: hex('20 02 00 00') },
  { name: 'SUBACK sent by a client', version: 4, bytes: hex('90 03 0001 00') },
  { name: 'reserved packet type 0', version: 4, bytes: hex('00 00') },
  { name: 'AUTH on an MQTT 3.1.1 connection', version: 4, bytes: hex('f0 00') },
  { name: 'PUBACK with a trailing byte (3.1.1)', version: 4, bytes: hex('40 03 0001 00') },
  {
    name: 'PUBLISH topic past maxTopicLength (3.1.1)',
    version: 4,
    bytes: pkt(0x30, `${str(longTopic)} 61`),
  },
  {
    name: 'PUBLISH topic past maxTopicLevels (3.1.1)',
    version: 4,
    bytes: pkt(0x30, `${str(deepTopic)} 61`),
  },
  {
    name: 'PUBLISH above maximumPacketSize (3.1.1)',
    version: 4,
    bytes: Buffer.concat([Buffer.from([0x30]), varint(100_000)]),
  },
].map((c) => ({ ...c, version: 4 as const, connectFirst: true, expect: close }));

/** Violations on a connected MQTT 5 session: DISCONNECT with the reason code [MQTT-4.13.1-1]. */
const connected5: HostileCase[] = (
  [
    ['[MQTT-3.1.0-2] second CONNECT (5.0)', connectBytes(5, 'again'), 0x82],
    ['[MQTT-3.3.1-4] PUBLISH with QoS 3 (5.0)', pkt(0x36, `${str('a')} 0001 00 61`), 0x81],
    [
      '[MQTT-2.2.1-3] PUBLISH QoS 1 with packet id 0 (5.0)',
      pkt(0x32, `${str('a')} 0000 00 61`),
      0x82,
    ],
    ['[MQTT-3.3.2-8] PUBLISH with Topic Alias 0', publish5('a', '03 23 0000'), 0x94],
    [
      '[MQTT-3.3.2-9] PUBLISH with a Topic Alias above our maximum',
      publish5('a', '03 23 000b'),
      0x94,
    ],
    ['PUBLISH with an empty topic and an unknown Topic Alias', publish5('', '03 23 0003'), 0x82],
    ['PUBLISH with an empty topic and no Topic Alias', publish5('', '00'), 0x82],
    [
      '[MQTT-3.3.4-6] PUBLISH from a client with a Subscription Identifier',
      publish5('a', '02 0b 01'),
      0x82,
    ],
    ['PUBLISH with Subscription Identifier 0', publish5('a', '02 0b 00'), 0x82],
    ['PUBLISH with Content Type twice', publish5('a', '08 03 0001 61 03 0001 62'), 0x82],
    ['PUBLISH with Payload Format Indicator 2', publish5('a', '02 01 02'), 0x82],
    ['PUBLISH property length past the packet end', publish5('a', '30 01 01'), 0x81],
    [
      'PUBLISH with a user property value that is not UTF-8',
      publish5('a', '07 26 0001 61 0002 c328'),
      0x81,
    ],
    ['[MQTT-3.3.2-2] PUBLISH topic with # (5.0)', publish5('a/#', '00'), 0x90],
    ['PUBLISH topic past maxTopicLength: DISCONNECT 0x90', publish5(longTopic, '00'), 0x90],
    ['PUBLISH topic past maxTopicLevels: DISCONNECT 0x90', publish5(deepTopic, '00'), 0x90],
    [
      'PUBLISH above maximumPacketSize: DISCONNECT 0x95',
      Buffer.concat([Buffer.from([0x30]), varint(100_000)]),
      0x95,
    ],
    ['SUBSCRIBE with Subscription Identifier 0', pkt(0x82, `0001 02 0b 00 ${str('a')} 00`), 0x82],
    ['SUBSCRIBE with Retain Handling 3', pkt(0x82, `0001 00 ${str('a')} 30`), 0x82],
    [
      '[MQTT-3.8.3-4] SUBSCRIBE with No Local on a shared subscription',
      pkt(0x82, `0001 00 ${str('$share/g/a')} 04`),
      0x82,
    ],
    [
      '[MQTT-3.8.3-5] SUBSCRIBE with reserved option bits (5.0)',
      pkt(0x82, `0001 00 ${str('a')} c0`),
      0x81,
    ],
    ['[MQTT-3.8.3-2] SUBSCRIBE without filters (5.0)', hex('82 03 0001 00'), 0x82],
    ['DISCONNECT raising Session Expiry from 0', hex('e0 07 00 05 11 0000000a'), 0x82],
    ['DISCONNECT with reason code 0x05', hex('e0 01 05'), 0x82],
    ['PUBREL with reason code 0x10', hex('62 03 0001 10'), 0x82],
    ['PUBACK with packet id 0 (5.0)', hex('40 02 0000'), 0x82],
    ['AUTH (re-authenticate) without Authentication Method', hex('f0 02 19 00'), 0x82],
    ['AUTH with reason code 0x01', hex('f0 02 01 00'), 0x82],
  ] as const
).map(([name, bytes, code]) => ({
  name,
  version: 5,
  connectFirst: true,
  bytes,
  expect: disconnect(code),
}));

/** Refusals that keep the connection open. */
const answered: HostileCase[] = [
  {
    name: 'PUBLISH QoS 1 with Payload Format 1 and a non-UTF-8 payload: PUBACK 0x99',
    version: 5,
    connectFirst: true,
    bytes: pkt(0x32, `${str('a')} 0001 02 01 01 c328`),
    expect: { kind: 'answer', type: 'puback', codes: [0x99] },
  },
  {
    name: 'SUBSCRIBE filter past maxTopicLength: SUBACK 0x8F, the other filter granted (5.0)',
    version: 5,
    connectFirst: true,
    bytes: pkt(0x82, `0001 00 ${str(longTopic)} 00 ${str('ok/+')} 01`),
    expect: { kind: 'answer', type: 'suback', codes: [0x8f, 0x01] },
  },
  {
    name: 'SUBSCRIBE filter past maxTopicLevels: SUBACK 0x80, the other filter granted (3.1.1)',
    version: 4,
    connectFirst: true,
    bytes: pkt(0x82, `0001 ${str(`${deepTopic}/#`)} 00 ${str('ok/#')} 00`),
    expect: { kind: 'answer', type: 'suback', codes: [0x80, 0x00] },
  },
];

/** Every case of the table. */
export const HOSTILE_CASES: HostileCase[] = [
  ...beforeConnect,
  ...connected4,
  ...connected5,
  ...answered,
];
