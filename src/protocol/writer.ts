/**
 * Primitive writers for the encoder: plain functions over (buffer, position) that return
 * the next position, so encoding allocates nothing but the output Buffer.
 */
import { MAX_REMAINING_LENGTH } from './limits.js';
import { allocBytes } from './slab.js';
import { utf8Length, writeUtf8Bytes } from './utf8.js';
import { cannotEncode } from './wire-errors.js';

/** Bytes a Variable Byte Integer takes. */
export function varIntSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

export function writeVarInt(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

export function writeU16(buf: Buffer, pos: number, n: number): number {
  buf[pos] = n >>> 8;
  buf[pos + 1] = n;
  return pos + 2;
}

export function writeU32(buf: Buffer, pos: number, n: number): number {
  buf[pos] = n >>> 24;
  buf[pos + 1] = n >>> 16;
  buf[pos + 2] = n >>> 8;
  buf[pos + 3] = n;
  return pos + 4;
}

/** UTF-8 byte length of a string field, checked against the 65535-byte limit. */
export function stringLength(s: string): number {
  const n = utf8Length(s);
  if (n > 0xffff) throw cannotEncode('string longer than 65535 bytes');
  return n;
}

/** Writes a UTF-8 Encoded String whose byte length (from {@link stringLength}) is `len`. */
export function writeString(buf: Buffer, pos: number, s: string, len: number): number {
  buf[pos] = len >>> 8;
  buf[pos + 1] = len;
  return writeUtf8Bytes(buf, pos + 2, s, len);
}

/** Writes Binary Data (2-byte length then bytes). */
export function writeBinary(buf: Buffer, pos: number, data: Buffer): number {
  const len = data.length;
  if (len > 0xffff) throw cannotEncode('binary field longer than 65535 bytes');
  buf[pos] = len >>> 8;
  buf[pos + 1] = len;
  buf.set(data, pos + 2);
  return pos + 2 + len;
}

/**
 * Allocates the whole packet (fixed header + `remainingLength`) and writes the fixed
 * header; returns the buffer, whose body starts at `headerSize(remainingLength)`.
 */
export function allocPacket(firstByte: number, remainingLength: number): Buffer {
  if (remainingLength > MAX_REMAINING_LENGTH) {
    throw cannotEncode(`remaining length ${remainingLength} exceeds ${MAX_REMAINING_LENGTH}`);
  }
  const buf = allocBytes(1 + varIntSize(remainingLength) + remainingLength);
  buf[0] = firstByte;
  writeVarInt(buf, 1, remainingLength);
  return buf;
}

/** Size of the fixed header for a remaining length. */
export function headerSize(remainingLength: number): number {
  return 1 + varIntSize(remainingLength);
}
