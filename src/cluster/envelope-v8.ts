/**
 * Forwarded batches in the format nodes wrote before envelope.ts's binary one: a list of
 * messages in V8's serializer format. Read (never written) so that during a rolling upgrade
 * a node reads what a node of the earlier version forwards to it.
 */
import { deserialize } from 'node:v8';
import type { Message } from '../core/index.js';
import type { Properties, QoS } from '../protocol/index.js';
import type { ForwardedMessage } from './envelope.js';

/** The first byte of V8's serializer format (its version tag). */
export const V8_VERSION_TAG = 0xff;

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

/**
 * Decodes a batch in V8's format.
 * @throws Error when the bytes are not a batch.
 */
export function decodeV8Batch(bytes: Buffer): ForwardedMessage[] {
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
