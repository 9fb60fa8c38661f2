/**
 * encode(): exact sizing, the MQTT 5 short forms, version-specific fields, the id offset
 * helper, and refusals of packets that cannot go on the wire.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encode,
  encodeSuccessPuback,
  isMqttError,
  type Packet,
  publishPacketIdOffset,
} from '../../src/protocol/index.js';
import { decodeAll } from './helpers.js';

const hexOf = (p: Packet, v: 3 | 4 | 5) => encode(p, v).toString('hex');

describe('encode', () => {
  it('(spec 3.4.2.1) encodeSuccessPuback: the same bytes as encode() for a 3.x PUBACK and for a 5.0 success without properties', () => {
    for (const packetId of [1, 0x1234, 65535]) {
      const bytes = encodeSuccessPuback(packetId).toString('hex');
      assert.equal(bytes, hexOf({ type: 'puback', packetId }, 4));
      assert.equal(bytes, hexOf({ type: 'puback', packetId, reasonCode: 0 }, 5));
      assert.equal(bytes.length, 8, '4 bytes');
    }
    assert.throws(() => encodeSuccessPuback(0), isMqttError);
  });

  it('(spec 3.4.2.1) PUBACK family: reason 0 and no properties use the 2-byte form', () => {
    assert.equal(
      hexOf({ type: 'puback', packetId: 1, reasonCode: 0, properties: {} }, 5),
      '40020001',
    );
    assert.equal(hexOf({ type: 'pubrec', packetId: 1 }, 5), '50020001');
    assert.equal(hexOf({ type: 'pubrel', packetId: 1, reasonCode: 0x92 }, 5), '6203000192');
    assert.equal(hexOf({ type: 'pubcomp', packetId: 2, reasonCode: 0x92 }, 4), '70020002');
  });

  it('(spec 3.14.2.1) DISCONNECT with reason 0 and no properties has remaining length 0', () => {
    assert.equal(hexOf({ type: 'disconnect', reasonCode: 0, properties: {} }, 5), 'e000');
    assert.equal(hexOf({ type: 'disconnect', reasonCode: 0x8e }, 5), 'e0018e');
    assert.equal(hexOf({ type: 'disconnect', reasonCode: 0x8e }, 4), 'e000');
  });

  it('AUTH with a reason code always carries a property length', () => {
    assert.equal(hexOf({ type: 'auth', reasonCode: 0x19 }, 5), 'f0021900');
    assert.equal(hexOf({ type: 'auth' }, 5), 'f000');
  });

  it('writes properties and reason codes only for version 5', () => {
    const suback: Packet = {
      type: 'suback',
      packetId: 7,
      reasonCodes: [1],
      properties: { reasonString: 'r' },
    };
    assert.equal(hexOf(suback, 4), '9003000701');
    assert.equal(hexOf(suback, 5), '9008000704 1f000172 01'.replace(/ /g, ''));
    const unsuback: Packet = { type: 'unsuback', packetId: 7, reasonCodes: [0x11] };
    assert.equal(hexOf(unsuback, 4), 'b0020007');
    assert.equal(hexOf(unsuback, 5), 'b00400070011');
  });

  it('MQTT 3.1 CONNACK has no session present flag', () => {
    assert.equal(hexOf({ type: 'connack', sessionPresent: true, reasonCode: 0 }, 3), '20020000');
    assert.equal(hexOf({ type: 'connack', sessionPresent: true, reasonCode: 0 }, 4), '20020100');
  });

  it('takes the CONNECT protocol name and level from the version argument', () => {
    const connect: Packet = {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 0,
      clientId: 'x',
    };
    const [decoded] = decodeAll(encode(connect, 3));
    assert.ok(decoded.type === 'connect');
    assert.equal(decoded.protocolName, 'MQIsdp');
    assert.equal(decoded.protocolVersion, 3);
  });

  it('sizes the buffer exactly, including multi-byte remaining lengths', () => {
    for (const size of [0, 100, 126, 127, 128, 16_380, 16_384, 2_097_200]) {
      const bytes = encode(
        {
          type: 'publish',
          topic: 't',
          payload: Buffer.alloc(size, 1),
          qos: 0,
          retain: false,
          dup: false,
        },
        4,
      );
      const [p] = decodeAll(bytes, { protocolVersion: 4 });
      assert.ok(p.type === 'publish');
      assert.equal(p.payload.length, size);
    }
  });

  it('writes non-ASCII strings as UTF-8', () => {
    const p: Packet = {
      type: 'publish',
      topic: 'température/😀',
      payload: Buffer.alloc(0),
      qos: 0,
      retain: false,
      dup: false,
    };
    assert.deepEqual(decodeAll(encode(p, 4), { protocolVersion: 4 }), [p]);
  });

  it('publishPacketIdOffset points at the packet id, so one encoding can be patched per subscriber', () => {
    for (const topic of ['a', 'x'.repeat(300)]) {
      const bytes = encode(
        {
          type: 'publish',
          topic,
          payload: Buffer.alloc(200),
          qos: 1,
          retain: false,
          dup: false,
          packetId: 1,
        },
        5,
      );
      const copy = Buffer.from(bytes);
      copy.writeUInt16BE(0xbeef, publishPacketIdOffset(copy));
      const [p] = decodeAll(copy, { protocolVersion: 5 });
      assert.ok(p.type === 'publish');
      assert.equal(p.packetId, 0xbeef);
    }
    assert.throws(() => publishPacketIdOffset(encode({ type: 'pingreq' }, 4)), isMqttError);
  });

  it('refuses packets that cannot go on the wire', () => {
    const cases: [Packet, 3 | 4 | 5][] = [
      [
        {
          type: 'publish',
          topic: 't',
          payload: Buffer.alloc(0),
          qos: 1,
          retain: false,
          dup: false,
        },
        4,
      ],
      [{ type: 'auth', reasonCode: 0x18 }, 4],
      [{ type: 'puback', packetId: 0 }, 4],
      [{ type: 'subscribe', packetId: 1, subscriptions: [] }, 4],
      [
        {
          type: 'publish',
          topic: 't',
          payload: Buffer.alloc(0),
          qos: 0,
          retain: false,
          dup: false,
          properties: { sessionExpiryInterval: 1 },
        },
        5,
      ],
      [
        {
          type: 'publish',
          topic: 'x'.repeat(70_000),
          payload: Buffer.alloc(0),
          qos: 0,
          retain: false,
          dup: false,
        },
        4,
      ],
      [
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepAlive: 0,
          clientId: 'c',
          password: Buffer.from('p'),
        },
        4,
      ],
    ];
    for (const [packet, v] of cases)
      assert.throws(() => encode(packet, v), isMqttError, JSON.stringify(packet).slice(0, 80));
  });
});
