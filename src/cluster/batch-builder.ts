/**
 * Encodes forwarded messages into one node's batch as they are routed (the layout of
 * envelope.ts), so that the outbox holds bytes, not Message objects, until its flush: a message
 * forwarded to another node is garbage once routed, instead of surviving the scavenges of the
 * turn it waits in the batch. The bytes are written after `headroom` free bytes, so that the
 * command which carries the batch to Redis can be written in front of it in the same buffer
 * (forward-frame.ts): the batch is never copied again on its way to the socket.
 */
import { serialize } from 'node:v8';
import type { Message } from '../core/index.js';
import { type Properties, utf8Length, writeUtf8Bytes } from '../protocol/index.js';
import {
  FIXED,
  FORMAT,
  HAS_EXPIRY,
  HAS_GROUPS,
  HAS_ORIGIN,
  HAS_PROPERTIES,
  HEADER,
  RETAIN,
} from './envelope-format.js';

/**
 * Bytes a fresh batch buffer has at least (beyond the headroom): small enough that with the
 * headroom it comes from Node's buffer pool (under 4 KiB), not an allocation of its own, as
 * most batches are small when the load is not at its peak.
 */
const MIN_CAPACITY = 1024;
/** The most a fresh batch buffer starts with: one burst of big payloads is not the norm. */
const MAX_START_CAPACITY = 256 * 1024;
/** Buffers of written batches a builder keeps for its next batches (see recycle). */
const SPARE_BUFFERS = 2;
/** The empty buffer a builder holds between two batches. */
const EMPTY = Buffer.alloc(0);
/** The most UTF-8 bytes a JavaScript string takes per UTF-16 code unit. */
const UTF8_MAX = 3;

/** A finished batch: `buffer[start, end)` are its bytes; `start` bytes of headroom precede them. */
export interface FinishedBatch {
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
  /** Messages in it. */
  readonly count: number;
}

/** One batch being filled, message by message. */
export class BatchBuilder {
  /** Messages in the batch being filled. */
  count = 0;
  private buf: Buffer;
  private pos: number;
  /** The last message added (a second delivery of it adds a shared group to it). */
  private last: Message | undefined;
  /** Where the last message's flags are, and its group count (-1: it has no groups). */
  private lastStart = 0;
  private lastGroupsAt = -1;
  /** Each message's properties (null for none), once a message of the batch has some. */
  private properties: (Properties | null)[] | undefined;
  /** The size of the last batch (bounded): the next starts with room for as much. */
  private sizeHint = MIN_CAPACITY;
  /** Buffers of batches whose write is done, filled again before a new one is allocated. */
  private readonly spare: Buffer[] = [];

  /** `headroom`: free bytes kept before the batch, for the caller's framing. */
  constructor(private readonly headroom: number) {
    this.buf = EMPTY;
    this.pos = 0;
  }

  /**
   * Gives back the buffer of a batch this builder finished, once nothing reads it any more
   * (its command was answered or failed: written whole, never sent again), for a next batch
   * to be written into. A batch of a loaded node is tens of KiB, a buffer of its own (beyond
   * Node's pool), and a buffer per batch made the garbage collector run full collections
   * several times a second (ArrayBuffer memory). At most {@link SPARE_BUFFERS} are kept, none
   * larger than a batch starts with at most.
   */
  recycle(buffer: Buffer): void {
    if (this.spare.length >= SPARE_BUFFERS) return;
    if (buffer.length > this.headroom + MAX_START_CAPACITY || buffer === this.buf) return;
    this.spare.push(buffer);
  }

  /**
   * Adds a delivery of `message`. The same message again (consecutively: the router delivers
   * one publish's targets together) travels once: its `shareFilter` joins the groups listed
   * with it, and a repeat without one (the merged ordinary subscriptions) adds nothing.
   */
  add(message: Message, shareFilter: string | undefined): void {
    if (message === this.last) {
      if (shareFilter !== undefined) this.addGroup(shareFilter);
      return;
    }
    this.addMessage(message);
    if (shareFilter !== undefined) this.addGroup(shareFilter);
  }

  /** Appends `message` (without groups). */
  addMessage(message: Message): void {
    if (this.count === 0) this.begin();
    const topic = message.topic;
    const origin = message.origin;
    const payload = message.payload;
    const topicBytes = utf8Length(topic);
    const payloadBytes = payload.length;
    this.reserve(
      FIXED +
        topicBytes +
        payloadBytes +
        8 +
        (origin === undefined ? 0 : 2 + origin.length * UTF8_MAX),
    );
    const out = this.buf;
    const start = this.pos;
    let flags = message.qos | (message.retain ? RETAIN : 0);
    if (message.properties !== undefined) flags |= HAS_PROPERTIES;
    if (message.expiresAt !== undefined) flags |= HAS_EXPIRY;
    if (origin !== undefined) flags |= HAS_ORIGIN;
    out[start] = flags;
    out.writeDoubleLE(message.id, start + 1);
    let pos = writeSized16(out, start + 9, topic, topicBytes);
    out[pos] = payloadBytes;
    out[pos + 1] = payloadBytes >>> 8;
    out[pos + 2] = payloadBytes >>> 16;
    out[pos + 3] = payloadBytes >>> 24;
    pos += 4;
    out.set(payload, pos);
    pos += payloadBytes;
    if (message.expiresAt !== undefined) pos = out.writeDoubleLE(message.expiresAt, pos);
    if (origin !== undefined) pos = writeString16(out, pos, origin);
    this.pos = pos;
    this.notePropertiesOf(message);
    this.last = message;
    this.lastStart = start;
    this.lastGroupsAt = -1;
    this.count++;
  }

  /** Lists `filter` (a `$share/...` filter) with the last message added. */
  addGroup(filter: string): void {
    this.reserve(4 + filter.length * UTF8_MAX);
    this.startGroups();
    const out = this.buf;
    out.writeUInt16LE(out.readUInt16LE(this.lastGroupsAt) + 1, this.lastGroupsAt);
    this.pos = writeString16(out, this.pos, filter);
  }

  /** Gives the last message added a list of groups (empty until addGroup), if it has none yet. */
  startGroups(): void {
    if (this.lastGroupsAt >= 0) return;
    this.reserve(2);
    const out = this.buf;
    out[this.lastStart] = out[this.lastStart]! | HAS_GROUPS;
    this.lastGroupsAt = this.pos;
    out.writeUInt16LE(0, this.pos);
    this.pos += 2;
  }

  /**
   * Ends the batch: writes its header and properties section, hands its bytes over (the
   * builder does not write to that buffer again unless it is given back: recycle) and starts
   * afresh. `trailer` free bytes are
   * left after the batch for the caller's framing.
   */
  finish(trailer = 0): FinishedBatch {
    if (this.count === 0) this.begin();
    const properties = this.properties === undefined ? undefined : serialize(this.properties);
    this.reserve((properties?.length ?? 0) + trailer);
    const out = this.buf;
    const start = this.headroom;
    out.writeUInt32LE(this.count, start + 1);
    out.writeUInt32LE(properties?.length ?? 0, start + 5);
    if (properties !== undefined) this.pos += properties.copy(out, this.pos);
    const finished: FinishedBatch = { buffer: out, start, end: this.pos, count: this.count };
    this.sizeHint = Math.min(MAX_START_CAPACITY, Math.max(MIN_CAPACITY, this.pos - start));
    this.buf = EMPTY;
    this.pos = 0;
    this.count = 0;
    this.last = undefined;
    this.properties = undefined;
    return finished;
  }

  /**
   * Starts a batch in a spare buffer with room for the last batch's size, else a new one:
   * headroom, then the format byte and room for the header.
   */
  private begin(): void {
    const size = this.headroom + this.sizeHint;
    let buf = this.spare.pop();
    // A spare too small for the size batches have now is dropped (the next one is kept).
    while (buf !== undefined && buf.length < size) buf = this.spare.pop();
    this.buf = buf ?? Buffer.allocUnsafe(size);
    this.buf[this.headroom] = FORMAT;
    this.pos = this.headroom + HEADER;
  }

  /** Makes room for `n` more bytes (a bigger buffer, the batch so far copied into it). */
  private reserve(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Keeps the message's properties for the batch's V8 section (one pass, at the end). */
  private notePropertiesOf(message: Message): void {
    if (message.properties === undefined) {
      this.properties?.push(null);
      return;
    }
    if (this.properties === undefined) this.properties = new Array(this.count).fill(null);
    this.properties.push(message.properties);
  }
}

/** Writes a u16 length and the UTF-8 of `s`; returns the position after it. */
function writeString16(out: Buffer, pos: number, s: string): number {
  return writeSized16(out, pos, s, utf8Length(s));
}

/**
 * Writes a u16 length and the UTF-8 of `s`, `bytes` long; returns the position after it.
 * The ASCII fast path of the codec (a topic is ASCII as a rule): `Buffer#write`'s argument
 * handling cost more than the copy (3 to 4% of a sending node's CPU in a cross-node fan-in).
 * @throws RangeError when `s` takes more than 65535 bytes (as `writeUInt16LE` would).
 */
function writeSized16(out: Buffer, pos: number, s: string, bytes: number): number {
  if (bytes > 0xffff) throw new RangeError(`string of ${bytes} bytes in a forwarded batch`);
  out[pos] = bytes;
  out[pos + 1] = bytes >>> 8;
  return writeUtf8Bytes(out, pos + 2, s, bytes);
}
