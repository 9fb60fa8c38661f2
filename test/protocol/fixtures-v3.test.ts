/**
 * Byte-exact fixtures written by hand from the spec's packet layouts (MQTT 3.1 and 3.1.1): each is
 * decoded to the expected packet, and encoding that packet gives back the same bytes.
 */
import { b, type Fixture, runFixtures } from './fixture-runner.js';

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

runFixtures('fixtures MQTT 3.1.1', V4);
runFixtures('fixtures MQTT 3.1', V3);
