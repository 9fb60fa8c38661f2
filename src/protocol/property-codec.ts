/**
 * MQTT 5 property blocks (spec 2.2.2): decoding with every per-property rule, and the
 * two-pass encoding (length, then bytes) the encoder needs to size its one Buffer.
 *
 * A property context is the packet type number (1..15) or {@link WILL_CONTEXT} for the
 * will properties inside CONNECT.
 */
import { MqttError } from './errors.js';
import { PACKET_TYPE_NAMES } from './packets.js';
import {
  PROPERTY_BY_ID,
  PROPERTY_BY_NAME,
  PROPERTY_DEFINITIONS,
  type Properties,
  type PropertyDefinition,
} from './properties.js';
import type { Reader } from './reader.js';
import { ReasonCode } from './reason-codes.js';
import { cannotEncode, malformed, protocolError } from './wire-errors.js';
import {
  stringLength,
  varIntSize,
  writeBinary,
  writeString,
  writeU16,
  writeU32,
  writeVarInt,
} from './writer.js';

/** Context number of the will properties. */
export const WILL_CONTEXT = 16;

const SUBSCRIBE_CONTEXT = 8;

/** Bit `1 << context` set for each context a property id may appear in. */
const ALLOWED_MASK: Uint32Array = (() => {
  const masks = new Uint32Array(256);
  for (const def of PROPERTY_DEFINITIONS) {
    for (const ctx of def.allowedIn) {
      const code = ctx === 'will' ? WILL_CONTEXT : PACKET_TYPE_NAMES.indexOf(ctx);
      masks[def.id] |= 1 << code;
    }
  }
  return masks;
})();

function contextName(ctx: number): string {
  return ctx === WILL_CONTEXT ? 'will properties' : String(PACKET_TYPE_NAMES[ctx]).toUpperCase();
}

/** Properties whose value must be 0 or 1 ("It is a Protocol Error ... other than 0 or 1"). */
const BOOLEAN_BYTE = new Set([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]);

type MutableProps = Record<string, unknown>;

/**
 * Reads a Property Length and the properties after it. Always returns an object (empty
 * when there are none), so MQTT 5 packets have a stable shape.
 */
export function decodeProperties(r: Reader, ctx: number): Properties {
  const len = r.varInt();
  const props: MutableProps = {};
  if (len === 0) return props as Properties;
  const end = r.pos + len;
  if (end > r.end) throw malformed('property length exceeds the packet');
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) {
    // Identifiers are Variable Byte Integers, but all defined ones are a single byte: a
    // byte >= 0x80 starts an identifier that cannot be known.
    const id = r.u8();
    const def = PROPERTY_BY_ID[id];
    if (def === undefined) throw malformed(`unknown property identifier 0x${id.toString(16)}`);
    if ((ALLOWED_MASK[id] & (1 << ctx)) === 0) {
      throw protocolError(`property ${def.name} is not allowed in ${contextName(ctx)}`);
    }
    readProperty(r, def, props, ctx);
  }
  r.end = outerEnd;
  return props as Properties;
}

function readProperty(r: Reader, def: PropertyDefinition, props: MutableProps, ctx: number): void {
  const id = def.id;
  if (id === 0x26) {
    const key = r.utf8();
    const value = r.utf8();
    const list = props.userProperties as [string, string][] | undefined;
    if (list === undefined) props.userProperties = [[key, value]];
    else list.push([key, value]);
    return;
  }
  if (id === 0x0b) {
    const subId = r.varInt();
    if (subId === 0) throw protocolError('subscription identifier 0');
    const list = props.subscriptionIdentifiers as number[] | undefined;
    if (list === undefined) props.subscriptionIdentifiers = [subId];
    else if (ctx === SUBSCRIBE_CONTEXT) throw protocolError('subscription identifier twice');
    else list.push(subId);
    return;
  }
  if (props[def.name] !== undefined) throw protocolError(`property ${def.name} twice`);
  let value: number | string | Buffer;
  switch (def.wireType) {
    case 'byte':
      value = r.u8();
      if (BOOLEAN_BYTE.has(id) && value > 1) {
        throw protocolError(`property ${def.name} must be 0 or 1, got ${value}`);
      }
      break;
    case 'twoByteInt':
      value = r.u16();
      if (value === 0) checkNonZeroShort(id, def.name);
      break;
    case 'fourByteInt':
      value = r.u32();
      if (value === 0 && id === 0x27) throw protocolError('maximum packet size 0');
      break;
    case 'utf8':
      value = r.utf8();
      if (id === 0x08 && (value.includes('+') || value.includes('#'))) {
        // A Response Topic is the Topic Name of the answer: no wildcards [MQTT-3.3.2-14]
        // (also in a will, which becomes a PUBLISH). A Protocol Error: 0x82.
        throw protocolError('response topic contains a wildcard', 'MQTT-3.3.2-14');
      }
      break;
    default:
      value = r.binary();
  }
  props[def.name] = value;
}

function checkNonZeroShort(id: number, name: string): void {
  if (id === 0x23) {
    throw new MqttError(ReasonCode.TopicAliasInvalid, 'topic alias 0', 'MQTT-3.3.2-8');
  }
  if (id === 0x21) throw protocolError(`${name} 0`);
}

/**
 * Byte length of the properties (without their Property Length prefix). Throws on an
 * unknown name or a property the context does not allow.
 */
export function propertiesLength(props: Properties | undefined, ctx: number): number {
  if (props === undefined) return 0;
  let n = 0;
  for (const name in props) {
    const value = (props as MutableProps)[name];
    if (value === undefined) continue;
    const def = PROPERTY_BY_NAME[name as keyof Properties];
    if (def === undefined) throw cannotEncode(`unknown property ${name}`);
    if ((ALLOWED_MASK[def.id] & (1 << ctx)) === 0) {
      throw cannotEncode(`property ${name} is not allowed in ${contextName(ctx)}`);
    }
    n += valueLength(def, value);
  }
  return n;
}

function valueLength(def: PropertyDefinition, value: unknown): number {
  switch (def.wireType) {
    case 'byte':
      return 2;
    case 'twoByteInt':
      return 3;
    case 'fourByteInt':
      return 5;
    case 'utf8':
      return 3 + stringLength(value as string);
    case 'binary':
      return 3 + (value as Buffer).length;
    case 'varInt': {
      let n = 0;
      for (const v of value as number[]) n += 1 + varIntSize(v);
      return n;
    }
    default: {
      let n = 0;
      for (const [k, v] of value as [string, string][]) n += 5 + stringLength(k) + stringLength(v);
      return n;
    }
  }
}

/**
 * Writes the Property Length `len` (from {@link propertiesLength}) and the properties;
 * returns the position after them.
 */
export function writeProperties(
  buf: Buffer,
  pos: number,
  props: Properties | undefined,
  len: number,
): number {
  pos = writeVarInt(buf, pos, len);
  if (len === 0 || props === undefined) return pos;
  for (const name in props) {
    const value = (props as MutableProps)[name];
    if (value === undefined) continue;
    pos = writeValue(buf, pos, PROPERTY_BY_NAME[name as keyof Properties], value);
  }
  return pos;
}

function writeValue(buf: Buffer, pos: number, def: PropertyDefinition, value: unknown): number {
  const id = def.id;
  switch (def.wireType) {
    case 'byte':
      buf[pos] = id;
      buf[pos + 1] = value as number;
      return pos + 2;
    case 'twoByteInt':
      buf[pos] = id;
      return writeU16(buf, pos + 1, value as number);
    case 'fourByteInt':
      buf[pos] = id;
      return writeU32(buf, pos + 1, value as number);
    case 'utf8':
      buf[pos] = id;
      return writeString(buf, pos + 1, value as string, stringLength(value as string));
    case 'binary':
      buf[pos] = id;
      return writeBinary(buf, pos + 1, value as Buffer);
    case 'varInt':
      for (const v of value as number[]) {
        buf[pos] = id;
        pos = writeVarInt(buf, pos + 1, v);
      }
      return pos;
    default:
      for (const [k, v] of value as [string, string][]) {
        buf[pos] = id;
        pos = writeString(buf, pos + 1, k, stringLength(k));
        pos = writeString(buf, pos, v, stringLength(v));
      }
      return pos;
  }
}

/** Size of a property block including its Property Length prefix. */
export function propertyBlockSize(len: number): number {
  return varIntSize(len) + len;
}
