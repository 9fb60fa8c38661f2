/**
 * Byte-exact fixtures written by hand from the spec's packet layouts: each is decoded to
 * the expected packet, and encoding that packet gives back the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode, type Packet, type ProtocolVersion } from '../../src/protocol/index.js';
import { decodeAll, hex } from './helpers.js';

interface Fixture {
  name: string;
  version: ProtocolVersion;
  bytes: string;
  packet: Packet;
}

const b = (s: string) => Buffer.from(s);

const V4: Fixture[] = [
  {
    name: 'CONNECT minimal (3.1.2)',
    version: 4,
    bytes: '10 0d 0004 4d515454 04 02 003c 0001 63',
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 60,
      clientId: 'c',
    },
  },
  {
    name: 'CONNECT with will, user name and password (3.1.3)',
    version: 4,
    bytes: '10 1a 0004 4d515454 04 ec 000a 0002 6964 0001 77 0001 78 0001 75 0001 70',
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: false,
      keepAlive: 10,
      clientId: 'id',
      will: { topic: 'w', payload: b('x'), qos: 1, retain: true },
      username: 'u',
      password: b('p'),
    },
  },
  {
    name: 'CONNACK session present, accepted (3.2)',
    version: 4,
    bytes: '20 02 01 00',
    packet: { type: 'connack', sessionPresent: true, reasonCode: 0 },
  },
  {
    name: 'CONNACK not authorized',
    version: 4,
    bytes: '20 02 00 05',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 5 },
  },
  {
    name: 'PUBLISH QoS 0 (3.3)',
    version: 4,
    bytes: '30 0a 0003 612f62 68656c6c6f',
    packet: {
      type: 'publish',
      topic: 'a/b',
      payload: b('hello'),
      qos: 0,
      retain: false,
      dup: false,
    },
  },
  {
    name: 'PUBLISH QoS 1, DUP and RETAIN',
    version: 4,
    bytes: '3b 07 0001 74 000a 6869',
    packet: {
      type: 'publish',
      topic: 't',
      payload: b('hi'),
      qos: 1,
      retain: true,
      dup: true,
      packetId: 10,
    },
  },
  {
    name: 'PUBLISH QoS 2, empty payload, UTF-8 topic',
    version: 4,
    bytes: '34 07 0003 c3a974 1234',
    packet: {
      type: 'publish',
      topic: 'ét',
      payload: Buffer.alloc(0),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 0x1234,
    },
  },
  {
    name: 'PUBACK (3.4)',
    version: 4,
    bytes: '40 02 0001',
    packet: { type: 'puback', packetId: 1 },
  },
  {
    name: 'PUBREC (3.5)',
    version: 4,
    bytes: '50 02 0002',
    packet: { type: 'pubrec', packetId: 2 },
  },
  {
    name: 'PUBREL (3.6)',
    version: 4,
    bytes: '62 02 0003',
    packet: { type: 'pubrel', packetId: 3 },
  },
  {
    name: 'PUBCOMP (3.7)',
    version: 4,
    bytes: '70 02 0004',
    packet: { type: 'pubcomp', packetId: 4 },
  },
  {
    name: 'SUBSCRIBE two filters (3.8)',
    version: 4,
    bytes: '82 0e 0005 0003 612f23 01 0003 622f2b 02',
    packet: {
      type: 'subscribe',
      packetId: 5,
      subscriptions: [
        { filter: 'a/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { filter: 'b/+', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    },
  },
  {
    name: 'SUBACK with a failure (3.9)',
    version: 4,
    bytes: '90 05 0005 01 02 80',
    packet: { type: 'suback', packetId: 5, reasonCodes: [1, 2, 0x80] },
  },
  {
    name: 'UNSUBSCRIBE (3.10)',
    version: 4,
    bytes: 'a2 07 0006 0003 612f23',
    packet: { type: 'unsubscribe', packetId: 6, filters: ['a/#'] },
  },
  {
    name: 'UNSUBACK (3.11)',
    version: 4,
    bytes: 'b0 02 0006',
    packet: { type: 'unsuback', packetId: 6, reasonCodes: [] },
  },
  { name: 'PINGREQ (3.12)', version: 4, bytes: 'c0 00', packet: { type: 'pingreq' } },
  { name: 'PINGRESP (3.13)', version: 4, bytes: 'd0 00', packet: { type: 'pingresp' } },
  { name: 'DISCONNECT (3.14)', version: 4, bytes: 'e0 00', packet: { type: 'disconnect' } },
];

/** MQTT 3.1 differs in the protocol name/level and lacks the session present flag. */
const V3: Fixture[] = [
  {
    name: 'CONNECT MQIsdp level 3',
    version: 3,
    bytes: '10 10 0006 4d5149736470 03 02 001e 0002 6331',
    packet: {
      type: 'connect',
      protocolName: 'MQIsdp',
      protocolVersion: 3,
      clean: true,
      keepAlive: 30,
      clientId: 'c1',
    },
  },
  {
    name: 'CONNACK identifier rejected',
    version: 3,
    bytes: '20 02 00 02',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 2 },
  },
  ...V4.filter((f) => f.packet.type !== 'connect' && f.packet.type !== 'connack').map((f) => ({
    ...f,
    version: 3 as const,
  })),
];

const V5: Fixture[] = [
  {
    name: 'CONNECT minimal, empty properties (3.1.2.11)',
    version: 5,
    bytes: '10 0e 0004 4d515454 05 02 003c 00 0001 63',
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 60,
      clientId: 'c',
      properties: {},
    },
  },
  {
    name: 'CONNECT with properties, will properties and user name',
    version: 5,
    bytes:
      '10 25 0004 4d515454 05 86 000a 08 11 00000078 21 0014 0001 63 05 18 00000005 0001 77 0001 78 0001 75',
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 10,
      clientId: 'c',
      properties: { sessionExpiryInterval: 120, receiveMaximum: 20 },
      will: {
        topic: 'w',
        payload: b('x'),
        qos: 0,
        retain: false,
        properties: { willDelayInterval: 5 },
      },
      username: 'u',
    },
  },
  {
    name: 'CONNACK success, no properties',
    version: 5,
    bytes: '20 03 00 00 00',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0, properties: {} },
  },
  {
    name: 'CONNACK with server limits',
    version: 5,
    bytes: '20 0a 00 00 07 22 000a 24 01 25 00',
    packet: {
      type: 'connack',
      sessionPresent: false,
      reasonCode: 0,
      properties: { topicAliasMaximum: 10, maximumQoS: 1, retainAvailable: 0 },
    },
  },
  {
    name: 'CONNACK not authorized',
    version: 5,
    bytes: '20 03 00 87 00',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0x87, properties: {} },
  },
  {
    name: 'PUBLISH QoS 0, empty properties',
    version: 5,
    bytes: '30 07 0003 612f62 00 78',
    packet: {
      type: 'publish',
      topic: 'a/b',
      payload: b('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: {},
    },
  },
  {
    name: 'PUBLISH QoS 1 with properties (3.3.2.3)',
    version: 5,
    bytes: '32 16 0001 74 0001 0e 01 01 23 0002 26 0001 6b 0001 76 0b 05 6869',
    packet: {
      type: 'publish',
      topic: 't',
      payload: b('hi'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
      properties: {
        payloadFormatIndicator: 1,
        topicAlias: 2,
        userProperties: [['k', 'v']],
        subscriptionIdentifiers: [5],
      },
    },
  },
  {
    name: 'PUBLISH empty topic with a topic alias (3.3.2.3.4)',
    version: 5,
    bytes: '30 07 0000 03 23 0001 7a',
    packet: {
      type: 'publish',
      topic: '',
      payload: b('z'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 1 },
    },
  },
  {
    name: 'PUBACK short form (3.4.2.1)',
    version: 5,
    bytes: '40 02 0001',
    packet: { type: 'puback', packetId: 1, reasonCode: 0, properties: {} },
  },
  {
    name: 'PUBACK reason code, no properties',
    version: 5,
    bytes: '40 03 0001 10',
    packet: { type: 'puback', packetId: 1, reasonCode: 0x10, properties: {} },
  },
  {
    name: 'PUBREC with a reason string',
    version: 5,
    bytes: '50 08 0002 80 04 1f 0001 65',
    packet: {
      type: 'pubrec',
      packetId: 2,
      reasonCode: 0x80,
      properties: { reasonString: 'e' },
    },
  },
  {
    name: 'PUBREL packet identifier not found',
    version: 5,
    bytes: '62 03 0003 92',
    packet: { type: 'pubrel', packetId: 3, reasonCode: 0x92, properties: {} },
  },
  {
    name: 'PUBCOMP short form',
    version: 5,
    bytes: '70 02 0004',
    packet: { type: 'pubcomp', packetId: 4, reasonCode: 0, properties: {} },
  },
  {
    name: 'SUBSCRIBE with options and a shared subscription (3.8.3.1)',
    version: 5,
    bytes: '82 18 0001 02 0b 07 0003 612f2b 2d 000a 247368617265 2f672f74 00',
    packet: {
      type: 'subscribe',
      packetId: 1,
      properties: { subscriptionIdentifiers: [7] },
      subscriptions: [
        { filter: 'a/+', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        {
          filter: '$share/g/t',
          qos: 0,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        },
      ],
    },
  },
  {
    name: 'SUBACK',
    version: 5,
    bytes: '90 05 0001 00 01 8f',
    packet: { type: 'suback', packetId: 1, reasonCodes: [1, 0x8f], properties: {} },
  },
  {
    name: 'UNSUBSCRIBE',
    version: 5,
    bytes: 'a2 06 0002 00 0001 61',
    packet: { type: 'unsubscribe', packetId: 2, filters: ['a'], properties: {} },
  },
  {
    name: 'UNSUBACK with reason codes (3.11.3)',
    version: 5,
    bytes: 'b0 05 0002 00 00 11',
    packet: { type: 'unsuback', packetId: 2, reasonCodes: [0, 0x11], properties: {} },
  },
  { name: 'PINGREQ', version: 5, bytes: 'c0 00', packet: { type: 'pingreq' } },
  { name: 'PINGRESP', version: 5, bytes: 'd0 00', packet: { type: 'pingresp' } },
  {
    name: 'DISCONNECT short form (3.14.2.1)',
    version: 5,
    bytes: 'e0 00',
    packet: { type: 'disconnect', reasonCode: 0, properties: {} },
  },
  {
    name: 'DISCONNECT with will message, no properties',
    version: 5,
    bytes: 'e0 01 04',
    packet: { type: 'disconnect', reasonCode: 4, properties: {} },
  },
  {
    name: 'DISCONNECT with session expiry',
    version: 5,
    bytes: 'e0 07 00 05 11 00000000',
    packet: { type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } },
  },
  {
    name: 'AUTH short form (3.15.2.1)',
    version: 5,
    bytes: 'f0 00',
    packet: { type: 'auth', reasonCode: 0, properties: {} },
  },
  {
    name: 'AUTH continue with a method',
    version: 5,
    bytes: 'f0 0a 18 08 15 0005 534352414d',
    packet: { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM' } },
  },
];

for (const [label, fixtures] of [
  ['MQTT 3.1', V3],
  ['MQTT 3.1.1', V4],
  ['MQTT 5.0', V5],
] as const) {
  describe(`fixtures ${label}`, () => {
    for (const f of fixtures) {
      it(`${f.name}: bytes -> packet -> same bytes`, () => {
        const bytes = hex(f.bytes);
        const options = f.packet.type === 'connect' ? {} : { protocolVersion: f.version };
        assert.deepEqual(decodeAll(bytes, options), [f.packet]);
        assert.equal(encode(f.packet, f.version).toString('hex'), bytes.toString('hex'));
      });
    }
  });
}

describe('fixtures: version learned from CONNECT', () => {
  it('a server decoder decodes the packets after CONNECT with its version', () => {
    const connect = V5[0];
    const publish = V5.find((f) => f.name.startsWith('PUBLISH QoS 1')) as Fixture;
    const out = decodeAll(Buffer.concat([hex(connect.bytes), hex(publish.bytes)]));
    assert.deepEqual(out, [connect.packet, publish.packet]);
  });
});
