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
  let wire: unknown;
  try {
    wire = deserialize(bytes);
  } catch (err) {
    throw new Error(`not a forwarded batch (${(err as Error).message})`);
  }
  if (!Array.isArray(wire)) throw new Error('forwarded batch is not a list');
  return wire.map((entry: unknown) => {
    const problem = wireProblem(entry);
    if (problem !== undefined) throw new Error(`forwarded message: ${problem}`);
    const valid = entry as WireMessage;
    const message: Message = {
      id: valid.i,
      topic: valid.t,
      payload: valid.p,
      qos: valid.q,
      retain: valid.r,
      properties: valid.o,
      expiresAt: valid.e,
      origin: valid.c,
      publisher: undefined,
      queueRefs: 0,
    };
    return { message, shareFilters: valid.g };
  });
}

/** What is wrong with a decoded message (undefined: nothing). */
function wireProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null) return 'not an object';
  const m = entry as Partial<WireMessage>;
  if (typeof m.t !== 'string' || m.t.length === 0) return 'no topic';
  if (!Buffer.isBuffer(m.p)) return 'no payload';
  if (typeof m.i !== 'number' || !Number.isSafeInteger(m.i)) return 'no message id';
  if (m.q !== 0 && m.q !== 1 && m.q !== 2) return 'QoS is not 0, 1 or 2';
  if (typeof m.r !== 'boolean') return 'RETAIN is not a boolean';
  if (m.o !== undefined && (typeof m.o !== 'object' || m.o === null)) return 'bad properties';
  if (m.e !== undefined && typeof m.e !== 'number') return 'bad expiry';
  if (m.c !== undefined && typeof m.c !== 'string') return 'bad origin client id';
  if (m.g !== undefined && (!Array.isArray(m.g) || !m.g.every((g) => typeof g === 'string'))) {
    return 'bad shared groups';
  }
  return undefined;
}
