/**
 * A bounds-checked cursor over one packet's bytes (the part after the fixed header).
 * Every read past `end` is a Malformed Packet (0x81), never a RangeError. One Reader is
 * reused by a Decoder for all its packets, so decoding allocates no cursor per packet.
 */
import { allocBytes } from './slab.js';
import { decodeTopicName, decodeUtf8 } from './utf8.js';
import { malformed } from './wire-errors.js';

const EMPTY = Buffer.alloc(0);

/**
 * Fields up to this many bytes are copied byte by byte: TypedArray#set needs a view of the
 * source range (a ~96 B object per field: the payload of every small PUBLISH, issue #17) and
 * a byte loop is as fast up to about this size (measured here: 16 B 22 against 78 ns, 64 B
 * 88 against 86 ns, 128 B 162 against 70 ns).
 */
const LOOP_COPY_MAX = 64;

export class Reader {
  buf: Buffer = EMPTY;
  pos = 0;
  /** Exclusive end; narrowed temporarily while reading a property block. */
  end = 0;
  /** True when `buf` belongs to the caller (a pushed chunk): byte fields must be copied out. */
  copy = true;

  reset(buf: Buffer, pos: number, end: number, copy: boolean): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.copy = copy;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw pastEnd();
    return this.buf[this.pos++];
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) throw pastEnd();
    this.pos = p + 2;
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw pastEnd();
    this.pos = p + 4;
    const b = this.buf;
    return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /** Variable Byte Integer: at most 4 bytes, minimally encoded [MQTT-1.5.5-1]. */
  varInt(): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (b === 0 && i > 0) throw malformed('variable byte integer not minimal', 'MQTT-1.5.5-1');
        return value;
      }
      mul *= 128;
    }
    throw malformed('variable byte integer longer than 4 bytes');
  }

  /** UTF-8 Encoded String: 2-byte length then the bytes. */
  utf8(): string {
    const len = this.u16();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw pastEnd();
    this.pos = end;
    return decodeUtf8(this.buf, start, end);
  }

  /** A UTF-8 string that must be a Topic Name: no wildcards (checked in the same pass). */
  topicName(wildcardError: () => Error): string {
    const len = this.u16();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw pastEnd();
    this.pos = end;
    return decodeTopicName(this.buf, start, end, wildcardError);
  }

  /** Binary Data: 2-byte length then the bytes (copied unless the buffer is ours). */
  binary(): Buffer {
    const len = this.u16();
    return this.bytes(len);
  }

  /** The next `len` bytes as a Buffer that does not alias a caller's chunk. */
  bytes(len: number): Buffer {
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw pastEnd();
    this.pos = end;
    if (!this.copy) return this.buf.subarray(start, end);
    const out = allocBytes(len);
    const buf = this.buf;
    if (len <= LOOP_COPY_MAX) {
      for (let i = 0; i < len; i++) out[i] = buf[start + i] as number;
      return out;
    }
    // TypedArray#set is about twice as fast as Buffer#copy, whose argument checks dominate
    // for fields of a few hundred bytes.
    out.set(buf.subarray(start, end));
    return out;
  }

  /** Everything up to `end` (a PUBLISH payload). */
  rest(): Buffer {
    return this.bytes(this.end - this.pos);
  }

  /** Throws unless every byte of the packet was consumed. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) {
      throw malformed(`${this.end - this.pos} unexpected byte(s) at the end of ${what}`);
    }
  }
}

function pastEnd(): Error {
  return malformed('field extends past the end of the packet');
}
