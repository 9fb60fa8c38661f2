/**
 * The small packets: PUBACK, PUBREC, PUBREL, PUBCOMP (spec 3.4-3.7), PINGREQ, PINGRESP,
 * DISCONNECT and AUTH (3.12-3.15). MQTT 5 lets each omit a success reason code and empty
 * properties; the encoder uses those short forms.
 */
import type {
  AuthPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PubAckLikePacket,
} from './packets.js';
import { PACKET_TYPE_CODES } from './packets.js';
import type { Properties } from './properties.js';
import {
  decodeProperties,
  propertiesLength,
  propertyBlockSize,
  writeProperties,
} from './property-codec.js';
import { readPacketId } from './publish.js';
import type { Reader } from './reader.js';
import { AUTH_CODES, DISCONNECT_CODES, PUBACK_CODES, PUBREL_CODES } from './reason-code-sets.js';
import { cannotEncode, protocolError } from './wire-errors.js';
import { allocPacket, headerSize, writeU16 } from './writer.js';

type PubAckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
const PUBACK_TYPES: readonly PubAckType[] = ['puback', 'pubrec', 'pubrel', 'pubcomp'];

function checkCode(table: Uint8Array, code: number, what: string): void {
  if (table[code] === 0) throw protocolError(`invalid ${what} reason code 0x${code.toString(16)}`);
}

/** Decodes PUBACK (4), PUBREC (5), PUBREL (6) or PUBCOMP (7). */
export function decodePubAck(
  r: Reader,
  typeCode: number,
  version: ProtocolVersion,
): PubAckLikePacket<PubAckType> {
  const type = PUBACK_TYPES[typeCode - 4];
  const name = type.toUpperCase();
  const packetId = readPacketId(r, name);
  if (version !== 5) {
    r.expectEnd(name);
    return { type, packetId };
  }
  let reasonCode = 0;
  let properties: Properties = {};
  if (r.remaining > 0) {
    reasonCode = r.u8();
    checkCode(typeCode < 6 ? PUBACK_CODES : PUBREL_CODES, reasonCode, name);
    // "If the Remaining Length is less than 4 there is no Property Length" (3.4.2.2).
    if (r.remaining > 0) properties = decodeProperties(r, typeCode);
    r.expectEnd(name);
  }
  return { type, packetId, reasonCode, properties };
}

/** Decodes PINGREQ / PINGRESP, which have no body. */
export function decodePing(r: Reader, typeCode: number): Packet {
  r.expectEnd(typeCode === 12 ? 'PINGREQ' : 'PINGRESP');
  return typeCode === 12 ? { type: 'pingreq' } : { type: 'pingresp' };
}

/** Decodes DISCONNECT. */
export function decodeDisconnect(r: Reader, version: ProtocolVersion): DisconnectPacket {
  if (version !== 5) {
    r.expectEnd('DISCONNECT');
    return { type: 'disconnect' };
  }
  let reasonCode = 0;
  let properties: Properties = {};
  if (r.remaining > 0) {
    reasonCode = r.u8();
    checkCode(DISCONNECT_CODES, reasonCode, 'DISCONNECT');
    if (r.remaining > 0) properties = decodeProperties(r, 14);
    r.expectEnd('DISCONNECT');
  }
  return { type: 'disconnect', reasonCode, properties };
}

/** Decodes AUTH (MQTT 5 only; the decoder rejects type 15 for older versions). */
export function decodeAuth(r: Reader): AuthPacket {
  let reasonCode = 0;
  let properties: Properties = {};
  if (r.remaining > 0) {
    reasonCode = r.u8();
    checkCode(AUTH_CODES, reasonCode, 'AUTH');
    if (r.remaining > 0) properties = decodeProperties(r, 15);
    r.expectEnd('AUTH');
  }
  return { type: 'auth', reasonCode, properties };
}

/**
 * A PUBACK with reason Success and no properties: the whole packet in MQTT 3.x, and MQTT 5's
 * short form (remaining length 2, the reason code and properties omitted; spec 3.4.2.1). The
 * publish flow's common case, encoded without a packet object (issue #17).
 */
export function encodeSuccessPuback(packetId: number): Buffer {
  if (!(packetId > 0)) throw cannotEncode('puback needs a non-zero packetId');
  const buf = allocPacket(0x40, 2);
  writeU16(buf, 2, packetId);
  return buf;
}

/** Encodes PUBACK, PUBREC, PUBREL or PUBCOMP. */
export function encodePubAck(p: PubAckLikePacket<PubAckType>, version: ProtocolVersion): Buffer {
  const typeCode = PACKET_TYPE_CODES[p.type];
  const first = (typeCode << 4) | (typeCode === 6 ? 0x02 : 0);
  if (!(p.packetId > 0)) throw cannotEncode(`${p.type} needs a non-zero packetId`);
  const code = version === 5 ? (p.reasonCode ?? 0) : 0;
  const propsLen = version === 5 ? propertiesLength(p.properties, typeCode) : 0;
  if (propsLen === 0) {
    const short = code === 0;
    const buf = allocPacket(first, short ? 2 : 3);
    writeU16(buf, 2, p.packetId);
    if (!short) buf[4] = code;
    return buf;
  }
  const rl = 3 + propertyBlockSize(propsLen);
  const buf = allocPacket(first, rl);
  let pos = writeU16(buf, headerSize(rl), p.packetId);
  buf[pos++] = code;
  writeProperties(buf, pos, p.properties, propsLen);
  return buf;
}

/** Encodes PINGREQ or PINGRESP. */
export function encodePing(type: 'pingreq' | 'pingresp'): Buffer {
  return allocPacket(PACKET_TYPE_CODES[type] << 4, 0);
}

/** Encodes DISCONNECT or AUTH: reason code and properties only, both omissible in MQTT 5. */
export function encodeReasonOnly(
  p: DisconnectPacket | AuthPacket,
  version: ProtocolVersion,
): Buffer {
  const typeCode = PACKET_TYPE_CODES[p.type];
  if (version !== 5) {
    if (p.type === 'auth') throw cannotEncode('AUTH exists only in MQTT 5');
    return allocPacket(typeCode << 4, 0);
  }
  const code = p.reasonCode ?? 0;
  const propsLen = propertiesLength(p.properties, typeCode);
  if (propsLen === 0 && code === 0) return allocPacket(typeCode << 4, 0);
  // DISCONNECT may stop after the reason code; AUTH always carries a property length
  // once it carries a reason code (3.15.2.2).
  if (propsLen === 0 && p.type === 'disconnect') {
    const buf = allocPacket(typeCode << 4, 1);
    buf[2] = code;
    return buf;
  }
  const rl = 1 + propertyBlockSize(propsLen);
  const buf = allocPacket(typeCode << 4, rl);
  const pos = headerSize(rl);
  buf[pos] = code;
  writeProperties(buf, pos + 1, p.properties, propsLen);
  return buf;
}
