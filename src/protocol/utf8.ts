/**
 * MQTT UTF-8 string rules ([MQTT-1.5.4-1], [MQTT-1.5.4-2]) on bytes and on JS strings,
 * with an ASCII fast path: most topics and client ids are plain ASCII.
 */
import { isUtf8 } from 'node:buffer';
import { malformed } from './wire-errors.js';

/** Node's native slice/write methods, present on every Buffer but absent from the typings. */
interface BufferInternals {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  latin1Write(value: string, offset: number, length: number): number;
  utf8Write(value: string, offset: number, length: number): number;
}

/**
 * `String.prototype.charCodeAt`, called as `charCodeAt.call(s, i)` in the loops below: the
 * method is then a constant that the optimizing compiler turns into a plain character load.
 * `s.charCodeAt(i)` instead looks the method up on `s`, and the lookup's cache is keyed by
 * the string's internal representation (flat, concatenated, sliced, internalized, ...): a
 * broker passes these functions strings of every kind, so the cache went megamorphic and the
 * lookup became a call per character (~12% of a node's CPU in `pairs` QoS 0 profiles, in
 * encodePublish's topic; x3 slower per call than the constant form in a micro-benchmark).
 */
const charCodeAt = String.prototype.charCodeAt;

/**
 * Decodes `buf[start, end)` as an MQTT UTF-8 string. Throws 0x81 on ill-formed UTF-8
 * (which includes encoded surrogates) and on U+0000.
 */
export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b === 0) throw malformed('string contains U+0000', 'MQTT-1.5.4-2');
    if (b > 0x7f) return decodeNonAscii(buf, i, start, end);
  }
  // All bytes < 0x80: Latin-1 and UTF-8 decode identically, and Latin-1 is cheaper.
  return (buf as unknown as BufferInternals).latin1Slice(start, end);
}

/**
 * Decodes a Topic Name at `buf[start, end)`: the UTF-8 rules of {@link decodeUtf8}, and in
 * the same pass, the wildcard check [MQTT-4.7.0-1], which throws `wildcardError()`.
 */
export function decodeTopicName(
  buf: Buffer,
  start: number,
  end: number,
  wildcardError: () => Error,
): string {
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b === 0) throw malformed('string contains U+0000', 'MQTT-1.5.4-2');
    if (b === 0x23 || b === 0x2b) throw wildcardError();
    if (b > 0x7f) {
      // '+' and '#' are ASCII and never part of a multi-byte sequence: finish the scan.
      for (let j = i + 1; j < end; j++) {
        if (buf[j] === 0x23 || buf[j] === 0x2b) throw wildcardError();
      }
      return decodeNonAscii(buf, i, start, end);
    }
  }
  return (buf as unknown as BufferInternals).latin1Slice(start, end);
}

function decodeNonAscii(buf: Buffer, from: number, start: number, end: number): string {
  for (let i = from; i < end; i++) {
    if (buf[i] === 0) throw malformed('string contains U+0000', 'MQTT-1.5.4-2');
  }
  // isUtf8 rejects overlong forms, code points above U+10FFFF and encoded surrogates.
  if (!isUtf8(buf.subarray(start, end))) {
    throw malformed('string is not well-formed UTF-8', 'MQTT-1.5.4-1');
  }
  return (buf as unknown as BufferInternals).utf8Slice(start, end);
}

/**
 * True when `bytes` are well-formed UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF); U+0000 is allowed. For payloads declared UTF-8 (MQTT 5 section 3.3.2.3.2).
 */
export function isWellFormedUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}

/** UTF-8 byte length of `s` (a lone surrogate counts as the 3-byte U+FFFD Node writes). */
export function utf8Length(s: string): number {
  const n = s.length;
  // Short ASCII strings are the common case; a JS loop beats the native call for them.
  if (n < 64) {
    for (let i = 0; i < n; i++) {
      if (charCodeAt.call(s, i) > 0x7f) return Buffer.byteLength(s, 'utf8');
    }
    return n;
  }
  return Buffer.byteLength(s, 'utf8');
}

/** Writes `s` (whose UTF-8 length is `byteLength`) at `pos`; returns the position after it. */
export function writeUtf8Bytes(buf: Buffer, pos: number, s: string, byteLength: number): number {
  const n = s.length;
  if (byteLength === n) {
    if (n < 24) {
      for (let i = 0; i < n; i++) buf[pos + i] = charCodeAt.call(s, i);
    } else {
      (buf as unknown as BufferInternals).latin1Write(s, pos, n);
    }
  } else {
    (buf as unknown as BufferInternals).utf8Write(s, pos, byteLength);
  }
  return pos + byteLength;
}

/**
 * Why `s` cannot be an MQTT UTF-8 string, or undefined when it can: no U+0000, no lone
 * surrogate (it would not survive encoding), at most 65535 bytes.
 */
export function mqttStringProblem(s: string): string | undefined {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'contains U+0000';
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return 'contains a lone surrogate';
      i++;
    }
  }
  if (n > 21845 && Buffer.byteLength(s, 'utf8') > 65535) return 'is longer than 65535 bytes';
  return undefined;
}

/** True when `s` is a valid MQTT UTF-8 string (see {@link mqttStringProblem}). */
export function isValidMqttString(s: string): boolean {
  return mqttStringProblem(s) === undefined;
}
