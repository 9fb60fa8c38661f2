/**
 * The wire form of messages forwarded between nodes: a batch (one stream entry) of
 * messages, each with what the receiving node needs to deliver it as the sending node would
 * have: the message's own fields (id, QoS, RETAIN as published, properties with user
 * properties, absolute expiry, origin client id for No Local) and the shared groups the
 * sending node chose the receiving node for. Encoded with V8's serializer, which keeps
 * Buffers (payload, correlation data) as they are, in one pass.
 */
import { deserialize, serialize } from 'node:v8';
import type { Message } from '../core/index.js';
import type { Properties, QoS } from '../protocol/index.js';

/** One forwarded message. */
export interface ForwardedMessage {
  readonly message: Message;
  /** `$share/group/filter`s this node was chosen for; undefined when none. */
  shareFilters: string[] | undefined;
}

/** The fields that travel (a Message without its local bookkeeping). */
interface WireMessage {
  i: number;
  t: string;
  p: Buffer;
  q: QoS;
  r: boolean;
  o: Properties | undefined;
  e: number | undefined;
  c: string | undefined;
  g: string[] | undefined;
}

/** Encodes a batch of forwarded messages. */
export function encodeBatch(batch: readonly ForwardedMessage[]): Buffer {
  const wire: WireMessage[] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const { message, shareFilters } = batch[i]!;
    wire[i] = {
      i: message.id,
      t: message.topic,
      p: message.payload,
      q: message.qos,
      r: message.retain,
      o: message.properties,
      e: message.expiresAt,
      c: message.origin,
      g: shareFilters,
    };
  }
  return serialize(wire);
}

/**
 * Decodes a batch. Entries come from other nodes of the same cluster (trusted), but a
 * malformed one is an error, never a crash.
 * @throws Error when the bytes are not a batch.
 */
export function decodeBatch(bytes: Buffer): ForwardedMessage[] {
  const wire = deserialize(bytes) as unknown;
  if (!Array.isArray(wire)) throw new Error('forwarded batch is not a list');
  return wire.map((entry: WireMessage) => {
    if (typeof entry?.t !== 'string' || !Buffer.isBuffer(entry.p)) {
      throw new Error('forwarded message has no topic or payload');
    }
    const message: Message = {
      id: entry.i,
      topic: entry.t,
      payload: entry.p,
      qos: entry.q,
      retain: entry.r,
      properties: entry.o,
      expiresAt: entry.e,
      origin: entry.c,
      publisher: undefined,
      queueRefs: 0,
    };
    return { message, shareFilters: entry.g };
  });
}
