/**
 * The wire form of messages forwarded between nodes: a batch (one stream entry) of
 * messages, each with what the receiving node needs to deliver it as the sending node would
 * have: the message's own fields (id, QoS, RETAIN as published, properties with user
 * properties, absolute expiry, origin client id for No Local) and the shared groups the
 * sending node chose the receiving node for.
 *
 * A flat binary layout written into one buffer: the sending node encodes every message it
 * forwards and the receiving node decodes it, so this is on the cross-node path of every
 * message. (V8's serializer, used before for the whole batch, cost each node 6-7% of its busy
 * time in a cross-node run, most of it in per-Buffer callbacks and per-message objects.)
 * MQTT 5 properties, nested and of many types, still go through V8's serializer: one pass for
 * the whole batch, in a section after the messages, only when a message has some.
 *
 *   batch:   u8 FORMAT, u32 count, u32 properties length (0: none), message * count,
 *            properties (V8: a list with each message's properties or null)
 *   message: u8 flags (bits 0-1 QoS, 2 RETAIN, 3 properties, 4 expiry, 5 origin, 6 groups),
 *            f64 id, u16 topic length, topic (UTF-8), u32 payload length, payload,
 *            [f64 expiry], [u16 length, origin (UTF-8)],
 *            [u16 count, (u16 length, `$share/...` filter (UTF-8)) * count]
 *
 * Batches in V8's format (first byte 0xFF), from a node of an earlier version during a
 * rolling upgrade, are still read (envelope-v8.ts).
 */
import { deserialize } from 'node:v8';
import type { Message } from '../core/index.js';
import type { Properties, QoS } from '../protocol/index.js';
import { BatchBuilder } from './batch-builder.js';
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
import { decodeV8Batch, V8_VERSION_TAG } from './envelope-v8.js';

/** One forwarded message. */
export interface ForwardedMessage {
  readonly message: Message;
  /** `$share/group/filter`s this node was chosen for; undefined when none. */
  shareFilters: string[] | undefined;
}

/** Node's native UTF-8 slice, on every Buffer but absent from the typings. */
interface Utf8Slicer {
  utf8Slice(start: number, end: number): string;
}

/** The properties of a message flagged as having them, until the batch's section is read. */
const FLAGGED: Properties = Object.freeze({}) as Properties;

/**
 * Encodes a batch of forwarded messages (as the outbox does, one message at a time:
 * batch-builder.ts).
 */
export function encodeBatch(batch: readonly ForwardedMessage[]): Buffer {
  const builder = new BatchBuilder(0);
  for (const { message, shareFilters } of batch) {
    builder.addMessage(message);
    if (shareFilters === undefined) continue;
    builder.startGroups();
    for (const filter of shareFilters) builder.addGroup(filter);
  }
  const { buffer, start, end } = builder.finish();
  return buffer.subarray(start, end);
}

/**
 * Decodes a batch. Entries come from other nodes of the same cluster (trusted), but a
 * malformed one is an error, never a crash.
 * @throws Error when the bytes are not a batch.
 */
export function decodeBatch(bytes: Buffer): ForwardedMessage[] {
  if (bytes[0] === V8_VERSION_TAG) return decodeV8Batch(bytes);
  if (bytes.length < HEADER || bytes[0] !== FORMAT) throw new Error('not a forwarded batch');
  const count = bytes.readUInt32LE(1);
  const propertiesLength = bytes.readUInt32LE(5);
  // Each message takes at least FIXED bytes: a count beyond that is garbage, not a batch.
  if (count > (bytes.length - HEADER) / FIXED) throw new Error('not a forwarded batch (count)');
  const messagesEnd = bytes.length - propertiesLength;
  const reader = new BatchReader(bytes, messagesEnd);
  const batch: ForwardedMessage[] = new Array(count);
  for (let i = 0; i < count; i++) batch[i] = reader.message();
  if (reader.pos !== messagesEnd) throw new Error('forwarded batch: bytes after the last message');
  if (propertiesLength > 0) addProperties(batch, bytes.subarray(messagesEnd));
  return batch;
}

/** Sets the properties of the messages flagged as having them, from the batch's V8 section. */
function addProperties(batch: ForwardedMessage[], section: Buffer): void {
  let list: unknown;
  try {
    list = deserialize(section);
  } catch (err) {
    throw new Error(`forwarded batch: bad properties (${(err as Error).message})`);
  }
  if (!Array.isArray(list) || list.length !== batch.length) {
    throw new Error('forwarded batch: bad properties (not one entry per message)');
  }
  for (let i = 0; i < batch.length; i++) {
    const message = batch[i]!.message as { properties: Properties | undefined };
    if (message.properties === undefined) continue; // not flagged
    const value: unknown = list[i];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error('forwarded message: bad properties');
    }
    message.properties = value as Properties;
  }
}

/** Reads messages off a batch, checking every length against what is left. */
class BatchReader {
  pos = HEADER;

  constructor(
    private readonly bytes: Buffer,
    /** Where the messages end (the properties section follows). */
    private readonly end: number,
  ) {}

  message(): ForwardedMessage {
    const flags = this.u8();
    const qos = flags & 0x03;
    if (qos === 3) throw new Error('forwarded message: QoS is not 0, 1 or 2');
    const id = this.f64();
    if (!Number.isSafeInteger(id)) throw new Error('forwarded message: no message id');
    const topic = this.string16();
    if (topic.length === 0) throw new Error('forwarded message: no topic');
    const payload = this.bytesOf(this.u32());
    // Flagged with a placeholder here; decodeBatch sets them from the properties section.
    const properties = flags & HAS_PROPERTIES ? FLAGGED : undefined;
    const expiresAt = flags & HAS_EXPIRY ? this.f64() : undefined;
    const origin = flags & HAS_ORIGIN ? this.string16() : undefined;
    let shareFilters: string[] | undefined;
    if (flags & HAS_GROUPS) {
      const n = this.u16();
      shareFilters = new Array(n);
      for (let i = 0; i < n; i++) shareFilters[i] = this.string16();
    }
    const message: Message = {
      id,
      topic,
      payload,
      qos: qos as QoS,
      retain: (flags & RETAIN) !== 0,
      properties,
      expiresAt,
      origin,
      publisher: undefined,
      queueRefs: 0,
    };
    return { message, shareFilters };
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.end) throw new Error('forwarded batch: truncated');
    this.pos = at + n;
    return at;
  }

  private u8(): number {
    return this.bytes[this.need(1)]!;
  }

  private u16(): number {
    return this.bytes.readUInt16LE(this.need(2));
  }

  private u32(): number {
    return this.bytes.readUInt32LE(this.need(4));
  }

  private f64(): number {
    return this.bytes.readDoubleLE(this.need(8));
  }

  private string16(): string {
    const n = this.u16();
    const at = this.need(n);
    // Buffer's own UTF-8 slice (ill-formed bytes as U+FFFD), without `toString`'s argument
    // handling: 59 against 74 ns for a topic of 13 bytes, once per message on a receiving node.
    return (this.bytes as unknown as Utf8Slicer).utf8Slice(at, at + n);
  }

  /**
   * `n` bytes as a view of the entry, not a copy: the payloads the codec decodes are views
   * too (of its shared 64 KiB slab), and what the core keeps for long (queued for an offline
   * session, retained) it copies into memory of its own (`detachPayload`,
   * core/payload-memory.ts), so a message delivered at once holds the entry only until it is
   * written. The copy (Node's pool, then `Buffer#copy`) was 40% of decoding a batch, the
   * whole cost of this file on a receiving node being about a tenth of its CPU per message.
   */
  private bytesOf(n: number): Buffer {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
}
