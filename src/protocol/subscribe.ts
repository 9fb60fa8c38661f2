/**
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (spec 3.8-3.11).
 */
import type {
  ProtocolVersion,
  QoS,
  SubackPacket,
  SubscribePacket,
  SubscriptionRequest,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import type { Properties } from './properties.js';
import {
  decodeProperties,
  propertiesLength,
  propertyBlockSize,
  writeProperties,
} from './property-codec.js';
import { readPacketId } from './publish.js';
import type { Reader } from './reader.js';
import { SUBACK_CODES, SUBACK_CODES_V3, UNSUBACK_CODES } from './reason-code-sets.js';
import { isSharedFilter, topicFilterSyntaxError } from './topic-validation.js';
import { cannotEncode, malformed, protocolError } from './wire-errors.js';
import { allocPacket, headerSize, stringLength, writeString, writeU16 } from './writer.js';

const SUBSCRIBE = 8;
const SUBACK = 9;
const UNSUBSCRIBE = 10;
const UNSUBACK = 11;

function readFilter(r: Reader): string {
  const filter = r.utf8();
  const err = topicFilterSyntaxError(filter);
  if (err !== undefined) throw err;
  return filter;
}

function readOptions(r: Reader, filter: string, version: ProtocolVersion): SubscriptionRequest {
  const opts = r.u8();
  const qos = opts & 3;
  if (version !== 5) {
    if (opts & 0xfc) throw malformed('SUBSCRIBE reserved option bits set', 'MQTT-3.8.3-4');
    if (qos === 3) throw malformed('SUBSCRIBE with QoS 3', 'MQTT-3.8.3-4');
    return { filter, qos: qos as QoS, noLocal: false, retainAsPublished: false, retainHandling: 0 };
  }
  if (opts & 0xc0) throw malformed('SUBSCRIBE reserved option bits set', 'MQTT-3.8.3-5');
  if (qos === 3) throw protocolError('SUBSCRIBE with QoS 3');
  const retainHandling = (opts >> 4) & 3;
  if (retainHandling === 3) throw protocolError('SUBSCRIBE with retain handling 3');
  const noLocal = (opts & 0x04) !== 0;
  if (noLocal && isSharedFilter(filter)) {
    throw protocolError('No Local on a shared subscription', 'MQTT-3.8.3-4');
  }
  return {
    filter,
    qos: qos as QoS,
    noLocal,
    retainAsPublished: (opts & 0x08) !== 0,
    retainHandling: retainHandling as 0 | 1 | 2,
  };
}

/** Decodes SUBSCRIBE. */
export function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packetId = readPacketId(r, 'SUBSCRIBE');
  const properties = version === 5 ? decodeProperties(r, SUBSCRIBE) : undefined;
  const subscriptions: SubscriptionRequest[] = [];
  while (r.remaining > 0) {
    const filter = readFilter(r);
    subscriptions.push(readOptions(r, filter, version));
  }
  if (subscriptions.length === 0) {
    throw protocolError(
      'SUBSCRIBE without topic filters',
      version === 5 ? 'MQTT-3.8.3-2' : 'MQTT-3.8.3-3',
    );
  }
  if (properties === undefined) return { type: 'subscribe', packetId, subscriptions };
  return { type: 'subscribe', packetId, subscriptions, properties };
}

/** Decodes UNSUBSCRIBE. */
export function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packetId = readPacketId(r, 'UNSUBSCRIBE');
  const properties = version === 5 ? decodeProperties(r, UNSUBSCRIBE) : undefined;
  const filters: string[] = [];
  while (r.remaining > 0) filters.push(readFilter(r));
  if (filters.length === 0) {
    throw protocolError('UNSUBSCRIBE without topic filters', 'MQTT-3.10.3-2');
  }
  if (properties === undefined) return { type: 'unsubscribe', packetId, filters };
  return { type: 'unsubscribe', packetId, filters, properties };
}

function readCodes(r: Reader, table: Uint8Array, what: string): number[] {
  const codes: number[] = [];
  while (r.remaining > 0) {
    const code = r.u8();
    if (table[code] === 0)
      throw protocolError(`invalid ${what} reason code 0x${code.toString(16)}`);
    codes.push(code);
  }
  if (codes.length === 0) throw protocolError(`${what} without reason codes`);
  return codes;
}

/** Decodes SUBACK. */
export function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const packetId = readPacketId(r, 'SUBACK');
  if (version !== 5) {
    return { type: 'suback', packetId, reasonCodes: readCodes(r, SUBACK_CODES_V3, 'SUBACK') };
  }
  const properties = decodeProperties(r, SUBACK);
  const reasonCodes = readCodes(r, SUBACK_CODES, 'SUBACK');
  return { type: 'suback', packetId, reasonCodes, properties };
}

/** Decodes UNSUBACK (MQTT 3.x: packet id only, `reasonCodes` empty). */
export function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const packetId = readPacketId(r, 'UNSUBACK');
  if (version !== 5) {
    r.expectEnd('UNSUBACK');
    return { type: 'unsuback', packetId, reasonCodes: [] };
  }
  const properties = decodeProperties(r, UNSUBACK);
  const reasonCodes = readCodes(r, UNSUBACK_CODES, 'UNSUBACK');
  return { type: 'unsuback', packetId, reasonCodes, properties };
}

function checkPacketId(id: number, what: string): void {
  if (!(id > 0 && id <= 0xffff)) throw cannotEncode(`${what} needs a packetId in 1..65535`);
}

/** Encodes SUBSCRIBE (subscription options beyond QoS are written only for MQTT 5). */
export function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion): Buffer {
  checkPacketId(p.packetId, 'SUBSCRIBE');
  const subs = p.subscriptions;
  if (subs.length === 0) throw cannotEncode('SUBSCRIBE needs at least one filter');
  const v5 = version === 5;
  const propsLen = v5 ? propertiesLength(p.properties, SUBSCRIBE) : 0;
  let rl = 2 + (v5 ? propertyBlockSize(propsLen) : 0);
  for (const s of subs) rl += 3 + stringLength(s.filter);
  const buf = allocPacket((SUBSCRIBE << 4) | 0x02, rl);
  let pos = writeU16(buf, headerSize(rl), p.packetId);
  if (v5) pos = writeProperties(buf, pos, p.properties, propsLen);
  for (const s of subs) {
    pos = writeString(buf, pos, s.filter, stringLength(s.filter));
    let opts: number = s.qos;
    if (v5) {
      opts |= (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | (s.retainHandling << 4);
    }
    buf[pos++] = opts;
  }
  return buf;
}

/** Encodes UNSUBSCRIBE. */
export function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): Buffer {
  checkPacketId(p.packetId, 'UNSUBSCRIBE');
  if (p.filters.length === 0) throw cannotEncode('UNSUBSCRIBE needs at least one filter');
  const v5 = version === 5;
  const propsLen = v5 ? propertiesLength(p.properties, UNSUBSCRIBE) : 0;
  let rl = 2 + (v5 ? propertyBlockSize(propsLen) : 0);
  for (const f of p.filters) rl += 2 + stringLength(f);
  const buf = allocPacket((UNSUBSCRIBE << 4) | 0x02, rl);
  let pos = writeU16(buf, headerSize(rl), p.packetId);
  if (v5) pos = writeProperties(buf, pos, p.properties, propsLen);
  for (const f of p.filters) pos = writeString(buf, pos, f, stringLength(f));
  return buf;
}

/** Encodes SUBACK or UNSUBACK (MQTT 3.x UNSUBACK carries no reason codes). */
export function encodeAckList(p: SubackPacket | UnsubackPacket, version: ProtocolVersion): Buffer {
  const typeCode = p.type === 'suback' ? SUBACK : UNSUBACK;
  checkPacketId(p.packetId, p.type.toUpperCase());
  const v5 = version === 5;
  const codes = v5 || typeCode === SUBACK ? p.reasonCodes : [];
  const props: Properties | undefined = v5 ? p.properties : undefined;
  const propsLen = v5 ? propertiesLength(props, typeCode) : 0;
  const rl = 2 + (v5 ? propertyBlockSize(propsLen) : 0) + codes.length;
  const buf = allocPacket(typeCode << 4, rl);
  let pos = writeU16(buf, headerSize(rl), p.packetId);
  if (v5) pos = writeProperties(buf, pos, props, propsLen);
  for (const c of codes) buf[pos++] = c;
  return buf;
}
