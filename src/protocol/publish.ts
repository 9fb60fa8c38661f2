/**
 * PUBLISH (spec 3.3): the hot path of a broker, kept free of closures and intermediate
 * allocations. Fixed-header flags (QoS 3, DUP on QoS 0) are checked by the decoder as
 * soon as the first byte arrives, before this runs.
 */
import type { ProtocolVersion, PublishPacket, QoS } from './packets.js';
import {
  decodeProperties,
  propertiesLength,
  propertyBlockSize,
  writeProperties,
} from './property-codec.js';
import type { Reader } from './reader.js';
import { topicNameSyntaxError } from './topic-validation.js';

const wildcardInTopic = (): Error => topicNameSyntaxError('#', false) as Error;
const emptyTopic = (): Error => topicNameSyntaxError('', false) as Error;

import { cannotEncode, malformed, protocolError } from './wire-errors.js';
import { allocPacket, headerSize, stringLength, writeString, writeU16 } from './writer.js';

const PUBLISH = 3;

/** Reads a non-zero Packet Identifier [MQTT-2.2.1-3]. */
export function readPacketId(r: Reader, what: string): number {
  const id = r.u16();
  if (id === 0) throw protocolError(`${what} with packet identifier 0`, 'MQTT-2.2.1-3');
  return id;
}

/** Decodes a PUBLISH body; `flags` is the low nibble of the first byte. */
export function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = ((flags >> 1) & 3) as QoS;
  const retain = (flags & 1) !== 0;
  const dup = (flags & 8) !== 0;
  const topic = r.topicName(wildcardInTopic);
  // MQTT 5 allows an empty topic when a Topic Alias is present: checked after properties.
  if (topic.length === 0 && version !== 5) throw emptyTopic();
  let packet: PublishPacket;
  if (qos === 0) {
    if (version !== 5) return { type: 'publish', topic, payload: r.rest(), qos, retain, dup };
    const properties = decodeProperties(r, PUBLISH);
    packet = { type: 'publish', topic, payload: r.rest(), qos, retain, dup, properties };
  } else {
    const packetId = readPacketId(r, 'PUBLISH');
    if (version !== 5) {
      return { type: 'publish', topic, payload: r.rest(), qos, retain, dup, packetId };
    }
    const properties = decodeProperties(r, PUBLISH);
    packet = { type: 'publish', topic, payload: r.rest(), qos, retain, dup, packetId, properties };
  }
  if (topic.length === 0 && packet.properties?.topicAlias === undefined) {
    throw protocolError('PUBLISH with an empty topic and no topic alias');
  }
  return packet;
}

/** Encodes a PUBLISH; `packetId` is required when qos > 0 and ignored otherwise. */
export function encodePublish(p: PublishPacket, version: ProtocolVersion): Buffer {
  const qos = p.qos;
  const topicLen = stringLength(p.topic);
  const payload = p.payload;
  let rl = 2 + topicLen + payload.length;
  if (qos > 0) {
    if (p.packetId === undefined || p.packetId === 0) {
      throw cannotEncode('PUBLISH with QoS > 0 needs a non-zero packetId');
    }
    rl += 2;
  }
  let propsLen = 0;
  if (version === 5) {
    propsLen = propertiesLength(p.properties, PUBLISH);
    rl += propertyBlockSize(propsLen);
  }
  const first = (PUBLISH << 4) | (p.dup ? 8 : 0) | (qos << 1) | (p.retain ? 1 : 0);
  const buf = allocPacket(first, rl);
  let pos = writeString(buf, headerSize(rl), p.topic, topicLen);
  if (qos > 0) pos = writeU16(buf, pos, p.packetId as number);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propsLen);
  buf.set(payload, pos);
  return buf;
}

/**
 * Byte offset of the Packet Identifier in an encoded QoS > 0 PUBLISH, so one encoded
 * message can be copied and its id patched per subscriber (`buf.writeUInt16BE(id, off)`).
 */
export function publishPacketIdOffset(encoded: Buffer): number {
  const first = encoded[0];
  if (first >> 4 !== PUBLISH || (first & 0x06) === 0) {
    throw malformed('not an encoded PUBLISH with QoS > 0');
  }
  let pos = 1;
  while (pos < 5 && encoded[pos] & 0x80) pos++;
  pos++;
  if (pos + 2 > encoded.length) throw malformed('truncated PUBLISH');
  return pos + 2 + ((encoded[pos] << 8) | encoded[pos + 1]);
}
