/**
 * The incremental Decoder: bytes in any fragmentation in, packets out.
 *
 * Packets wholly inside a pushed chunk are decoded in place (byte fields are copied out,
 * since transports may reuse chunks). A packet that straddles chunks is assembled in a
 * buffer of its own that grows geometrically up to the announced length, so a peer that
 * announces a huge packet cannot make us allocate it before sending it, and a packet fed
 * one byte at a time costs linear copying. The fixed header (at most 5 bytes) is kept
 * apart until it is complete.
 */
import { decodePacket } from './decode-packet.js';
import { MqttError } from './errors.js';
import { checkFirstByte } from './fixed-header.js';
import { MAX_PACKET_SIZE } from './limits.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { Reader } from './reader.js';
import { ReasonCode } from './reason-codes.js';
import { malformed } from './wire-errors.js';

/** Options of a {@link Decoder}. */
export interface DecoderOptions {
  /** Whole-packet limit in bytes, fixed header included (default: the protocol maximum). */
  maximumPacketSize?: number;
  /** Known protocol version (client side); a server learns it from CONNECT. */
  protocolVersion?: ProtocolVersion;
}

/** Smallest buffer started for a packet that straddles chunks. */
const MIN_ASSEMBLY = 16 * 1024;

/**
 * One Reader for every decoder: a body is decoded synchronously from reset to the end of
 * decodePacket, before the packet is handed over, so decoders never share it at the same
 * time. An idle connection then holds no Reader of its own.
 */
const sharedReader = new Reader();

/**
 * Remaining length found by the last successful `#parseHeader`: a second return value, kept
 * here rather than in a field of every decoder (decoding is synchronous, like sharedReader).
 */
let parsedRemaining = 0;

/** `#error` of a decoder that has not failed (any thrown value, undefined included, can fail it). */
const NOT_FAILED: unique symbol = Symbol('not failed');

/**
 * A packet split across chunks: its partial fixed header or its body being assembled. Made
 * the first time a decoder needs it and kept (no allocation per split packet), so an idle
 * connection's decoder holds four fields instead of twelve (72 B less per connection).
 */
class PartialPacket {
  /** Partial fixed header (at most 5 bytes); allocated the first time a header is split. */
  header: Buffer | undefined;
  headerLen = 0;
  /** Packet being assembled across chunks. */
  body: Buffer | undefined;
  bodyFilled = 0;
  bodyLength = 0;
  bodyFirst = 0;
  /** Size of the fixed header of the packet being assembled (for bufferedBytes). */
  bodyHeaderSize = 0;
}

export class Decoder {
  /** Known version; set from options (client side) or learned from the CONNECT decoded (server side). */
  protocolVersion: ProtocolVersion | undefined;
  /** Whole-packet limit (fixed header included); default 268435460 (the protocol max). Settable at any time. */
  maximumPacketSize: number;

  /** The error every push throws once the decoder failed; NOT_FAILED before. */
  #error: unknown = NOT_FAILED;
  /** A packet split across chunks (made when first needed, then kept). */
  #partial: PartialPacket | undefined;

  constructor(options: DecoderOptions = {}) {
    this.protocolVersion = options.protocolVersion;
    this.maximumPacketSize = options.maximumPacketSize ?? MAX_PACKET_SIZE;
  }

  /** Bytes held for an incomplete packet. */
  get bufferedBytes(): number {
    const p = this.#partial;
    if (p === undefined) return 0;
    return p.body === undefined ? p.headerLen : p.bodyHeaderSize + p.bodyFilled;
  }

  /**
   * Decodes every complete packet in `chunk`, calling onPacket for each, in order. On the
   * first invalid packet it throws MqttError (after delivering the packets before it); the
   * decoder is then failed and every later push throws the same error. If onPacket throws,
   * the decoder is failed in the same way, with that error. Only `chunk[0, length)` is
   * read (a transport reading into a buffer it reuses passes how much of it is new).
   */
  push(chunk: Buffer, onPacket: (packet: Packet) => void, length = chunk.length): void {
    if (this.#error !== NOT_FAILED) throw this.#error;
    try {
      this.#consume(chunk, length, onPacket);
    } catch (err) {
      this.#error = err;
      const p = this.#partial;
      if (p !== undefined) {
        p.body = undefined;
        p.bodyFilled = 0;
        p.headerLen = 0;
      }
      throw err;
    }
  }

  #consume(chunk: Buffer, len: number, onPacket: (packet: Packet) => void): void {
    let pos = 0;
    const p = this.#partial;
    if (p !== undefined) {
      if (p.body !== undefined) {
        pos = this.#fillBody(p, chunk, len, onPacket);
        if (p.body !== undefined) return;
      } else if (p.headerLen > 0) {
        pos = this.#fillHeader(p, chunk, len, onPacket);
        if (pos < 0) return;
      }
    }
    while (pos < len) {
      const bodyStart = this.#parseHeader(chunk, pos, len);
      if (bodyStart < 0) {
        const partial = (this.#partial ??= new PartialPacket());
        partial.header ??= Buffer.alloc(5);
        chunk.copy(partial.header, 0, pos, len);
        partial.headerLen = len - pos;
        return;
      }
      const first = chunk[pos];
      const end = bodyStart + parsedRemaining;
      if (end > len) {
        this.#startBody(first, bodyStart - pos, chunk, bodyStart, len);
        return;
      }
      this.#deliver(first, chunk, bodyStart, end, true, onPacket);
      pos = end;
    }
  }

  /**
   * Parses a fixed header at `buf[pos, end)`. Returns the offset of the body and sets
   * #remaining, or -1 when the header is not complete yet. Throws on an invalid first
   * byte, a remaining length over 4 bytes, or a packet over maximumPacketSize.
   */
  #parseHeader(buf: Buffer, pos: number, end: number): number {
    checkFirstByte(buf[pos], this.protocolVersion);
    let i = pos + 1;
    let value = 0;
    let mul = 1;
    for (;;) {
      if (i >= end) return -1;
      const b = buf[i++];
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (b === 0 && i - pos > 2) {
          throw malformed('remaining length not minimally encoded', 'MQTT-1.5.5-1');
        }
        break;
      }
      if (i - pos === 5) throw malformed('remaining length longer than 4 bytes');
      mul *= 128;
    }
    const total = i - pos + value;
    if (total > this.maximumPacketSize) {
      throw new MqttError(
        ReasonCode.PacketTooLarge,
        `packet of ${total} bytes exceeds the maximum packet size ${this.maximumPacketSize}`,
      );
    }
    parsedRemaining = value;
    return i;
  }

  /** Completes a partial fixed header from `chunk[0, len)`; returns bytes consumed, or -1 if still partial. */
  #fillHeader(
    p: PartialPacket,
    chunk: Buffer,
    len: number,
    onPacket: (packet: Packet) => void,
  ): number {
    const header = p.header as Buffer;
    let pos = 0;
    while (pos < len) {
      header[p.headerLen++] = chunk[pos++];
      const bodyStart = this.#parseHeader(header, 0, p.headerLen);
      if (bodyStart < 0) continue;
      p.headerLen = 0;
      const first = header[0];
      if (parsedRemaining === 0) {
        this.#deliver(first, header, bodyStart, bodyStart, true, onPacket);
        return pos;
      }
      this.#startBody(first, bodyStart, chunk, pos, pos);
      return this.#fillBody(p, chunk, len, onPacket, pos);
    }
    return -1;
  }

  /** Starts assembling a packet whose body begins with `chunk[from, to)`. */
  #startBody(first: number, headerSize: number, chunk: Buffer, from: number, to: number): void {
    const rl = parsedRemaining;
    const have = to - from;
    const capacity = Math.min(rl, Math.max(MIN_ASSEMBLY, have * 2));
    const body = Buffer.allocUnsafe(capacity);
    chunk.copy(body, 0, from, to);
    const p = (this.#partial ??= new PartialPacket());
    p.body = body;
    p.bodyFilled = have;
    p.bodyLength = rl;
    p.bodyFirst = first;
    p.bodyHeaderSize = headerSize;
  }

  /** Adds `chunk[from, len)` to the packet being assembled; returns the bytes of `chunk` consumed. */
  #fillBody(
    p: PartialPacket,
    chunk: Buffer,
    len: number,
    onPacket: (packet: Packet) => void,
    from = 0,
  ): number {
    let body = p.body as Buffer;
    const filled = p.bodyFilled;
    const n = Math.min(p.bodyLength - filled, len - from);
    if (filled + n > body.length) {
      const grown = Buffer.allocUnsafe(
        Math.min(p.bodyLength, Math.max(body.length * 2, filled + n)),
      );
      body.copy(grown, 0, 0, filled);
      body = grown;
      p.body = grown;
    }
    chunk.copy(body, filled, from, from + n);
    p.bodyFilled = filled + n;
    if (p.bodyFilled === p.bodyLength) {
      p.body = undefined;
      p.bodyFilled = 0;
      this.#deliver(p.bodyFirst, body, 0, p.bodyLength, false, onPacket);
    }
    return from + n;
  }

  /** Decodes one complete body and hands the packet over. */
  #deliver(
    first: number,
    buf: Buffer,
    start: number,
    end: number,
    copy: boolean,
    onPacket: (packet: Packet) => void,
  ): void {
    const r = sharedReader;
    r.reset(buf, start, end, copy);
    const packet = decodePacket(r, first, this.protocolVersion);
    // Drop the reference so a caller's chunk is not kept alive by the reader.
    r.buf = EMPTY_BUFFER;
    if (packet.type === 'connect' && this.protocolVersion === undefined) {
      this.protocolVersion = packet.protocolVersion;
    }
    onPacket(packet);
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);
