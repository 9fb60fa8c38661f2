/**
 * Byte-exact fixtures written by hand from the spec's packet layouts (MQTT 5.0): each is
 * decoded to the expected packet, and encoding that packet gives back the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { b, type Fixture, runFixtures } from './fixture-runner.js';
import { decodeAll, hex } from './helpers.js';

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

runFixtures('fixtures MQTT 5.0', V5);

describe('fixtures: version learned from CONNECT', () => {
  it('a server decoder decodes the packets after CONNECT with its version', () => {
    const connect = V5[0];
    const publish = V5.find((f) => f.name.startsWith('PUBLISH QoS 1')) as Fixture;
    const out = decodeAll(Buffer.concat([hex(connect.bytes), hex(publish.bytes)]));
    assert.deepEqual(out, [connect.packet, publish.packet]);
  });
});
