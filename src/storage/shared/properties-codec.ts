/**
 * A compact, self-describing binary encoding of MQTT 5 properties for storage.
 *
 * Not the wire format: it needs no packet context and never validates, so anything the core
 * hands in (including will properties and values the wire codec would refuse in some
 * packet) comes back exactly: numbers, strings, Buffers (correlationData), number lists and
 * ordered [key, value] pairs with duplicates (user properties). Each entry is
 * `nameLength u8, name (ASCII), tag u8, value`; the property names are written out so the
 * stored bytes do not depend on the property id table.
 */
import type { Properties } from '../../protocol/index.js';

const TAG_NUMBER = 1;
const TAG_STRING = 2;
const TAG_BUFFER = 3;
const TAG_NUMBERS = 4;
const TAG_PAIRS = 5;

type Value = number | string | Buffer | number[] | [string, string][];

/** Encodes `props`; returns null when there is nothing to store (no property set). */
export function encodeProperties(props: Properties | undefined): Buffer | null {
  if (props === undefined) return null;
  const entries: Array<[string, Value]> = [];
  let size = 0;
  for (const name in props) {
    const value = (props as Record<string, Value | undefined>)[name];
    if (value === undefined) continue;
    entries.push([name, value]);
    size += 1 + name.length + valueSize(value);
  }
  if (entries.length === 0) return null;
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [name, value] of entries) {
    buf[pos++] = name.length;
    pos += buf.write(name, pos, 'latin1');
    pos = writeValue(buf, pos, value);
  }
  return buf;
}

/** Decodes what {@link encodeProperties} wrote; undefined for null. */
export function decodeProperties(buf: Buffer | null | undefined): Properties | undefined {
  if (buf === null || buf === undefined) return undefined;
  const props: Record<string, Value> = {};
  let pos = 0;
  while (pos < buf.length) {
    const nameLength = buf[pos++];
    const name = buf.toString('latin1', pos, pos + nameLength);
    pos += nameLength;
    const tag = buf[pos++];
    const [value, next] = readValue(buf, pos, tag);
    props[name] = value;
    pos = next;
  }
  return props as Properties;
}

function valueSize(value: Value): number {
  if (typeof value === 'number') return 1 + 8;
  if (typeof value === 'string') return 1 + 4 + Buffer.byteLength(value);
  if (Buffer.isBuffer(value)) return 1 + 4 + value.length;
  let n = 1 + 4;
  for (const item of value) {
    if (typeof item === 'number') n += 8;
    else n += 8 + Buffer.byteLength(item[0]) + Buffer.byteLength(item[1]);
  }
  return n;
}

function writeString(buf: Buffer, pos: number, s: string): number {
  const len = buf.write(s, pos + 4, 'utf8');
  buf.writeUInt32LE(len, pos);
  return pos + 4 + len;
}

function writeValue(buf: Buffer, pos: number, value: Value): number {
  if (typeof value === 'number') {
    buf[pos] = TAG_NUMBER;
    buf.writeDoubleLE(value, pos + 1);
    return pos + 9;
  }
  if (typeof value === 'string') {
    buf[pos] = TAG_STRING;
    return writeString(buf, pos + 1, value);
  }
  if (Buffer.isBuffer(value)) {
    buf[pos] = TAG_BUFFER;
    buf.writeUInt32LE(value.length, pos + 1);
    value.copy(buf, pos + 5);
    return pos + 5 + value.length;
  }
  // An empty list is written as pairs; it reads back as an empty list either way.
  const numbers = value.length > 0 && typeof value[0] === 'number';
  buf[pos] = numbers ? TAG_NUMBERS : TAG_PAIRS;
  buf.writeUInt32LE(value.length, pos + 1);
  pos += 5;
  for (const item of value) {
    if (typeof item === 'number') {
      buf.writeDoubleLE(item, pos);
      pos += 8;
    } else {
      pos = writeString(buf, pos, item[0]);
      pos = writeString(buf, pos, item[1]);
    }
  }
  return pos;
}

function readString(buf: Buffer, pos: number): [string, number] {
  const len = buf.readUInt32LE(pos);
  return [buf.toString('utf8', pos + 4, pos + 4 + len), pos + 4 + len];
}

function readValue(buf: Buffer, pos: number, tag: number): [Value, number] {
  switch (tag) {
    case TAG_NUMBER:
      return [buf.readDoubleLE(pos), pos + 8];
    case TAG_STRING:
      return readString(buf, pos);
    case TAG_BUFFER: {
      const len = buf.readUInt32LE(pos);
      // A copy: the row's buffer is not ours to keep a view into.
      return [Buffer.from(buf.subarray(pos + 4, pos + 4 + len)), pos + 4 + len];
    }
    case TAG_NUMBERS: {
      const count = buf.readUInt32LE(pos);
      const list: number[] = [];
      pos += 4;
      for (let i = 0; i < count; i++, pos += 8) list.push(buf.readDoubleLE(pos));
      return [list, pos];
    }
    case TAG_PAIRS: {
      const count = buf.readUInt32LE(pos);
      const list: [string, string][] = [];
      pos += 4;
      for (let i = 0; i < count; i++) {
        const [key, afterKey] = readString(buf, pos);
        const [value, afterValue] = readString(buf, afterKey);
        list.push([key, value]);
        pos = afterValue;
      }
      return [list, pos];
    }
    default:
      throw new Error(`stored properties: unknown value tag ${tag} at byte ${pos - 1}`);
  }
}
