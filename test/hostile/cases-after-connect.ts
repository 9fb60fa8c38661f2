/**
 * The hostile cases sent on a connected session, after CONNACK 0x00: a v5 client gets
 * DISCONNECT with the reason code [MQTT-4.13.1-1] and a v3 client a close [MQTT-4.8.0-1];
 * some refusals answer and keep the connection open. Not a test file: cases.ts assembles the
 * table.
 */
import { connectBytes, hex, pkt, str, varint } from '../helpers/raw-client.js';
import { close, deepTopic, disconnect, type HostileCase, longTopic, publish5 } from './case-kit.js';

/** Violations on a connected MQTT 3.1.1 session: the broker closes [MQTT-4.8.0-1]. */
export const connected4: HostileCase[] = [
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
export const connected5: HostileCase[] = (
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
export const answered: HostileCase[] = [
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
