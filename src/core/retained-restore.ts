/**
 * Retained messages read back from the store at start, held as compactly as those retained
 * live. A row comes with a payload Buffer of its own (an ArrayBuffer each: ~200 B of
 * bookkeeping for a 64 B payload) and its publisher as fresh strings: restored as they came,
 * 100,000 retained messages cost about 500 B each beyond topic and payload instead of ~260.
 * So small payloads are copied into slab memory (payload-memory.ts), and every message of
 * one publisher shares one ClientInfo and one client id string.
 */
import type { RetainedLoad, RetainedStore, StoredMessage } from '../ports/index.js';
import type { ClientInfo } from './hooks.js';
import type { Message } from './message.js';
import { restoreMessage } from './message.js';
import { copyToOwnMemory } from './payload-memory.js';

/** Payloads up to this size go into slab memory (larger ones keep their own exact buffer). */
const SLAB_PAYLOAD = 4096;

/**
 * Streams the store's retained messages into `restore` (RetainedMessages.restore), which
 * answers false once the limits or the budget are reached: the store deletes the rest.
 */
export function restoreRetained(
  store: RetainedStore,
  now: number,
  restore: (message: Message) => boolean,
): Promise<RetainedLoad> {
  const publishers = new Map<string, ClientInfo>();
  return store.loadRetained(now, (stored) => restore(compactMessage(stored, publishers)));
}

/** The message of a stored row, its payload in slab memory and its publisher shared. */
function compactMessage(stored: StoredMessage, publishers: Map<string, ClientInfo>): Message {
  const payload = stored.payload;
  const compact: StoredMessage = {
    ...stored,
    payload: payload.length <= SLAB_PAYLOAD ? copyToOwnMemory(payload) : payload,
  };
  const message = restoreMessage(compact);
  const publisher = message.publisher;
  if (publisher === undefined) return message;
  const key = `${publisher.clientId}\u0000${publisher.listener}\u0000${publisher.username ?? ''}\u0000${publisher.usernameVerified}`;
  const shared = publishers.get(key);
  if (shared === undefined) {
    publishers.set(key, publisher);
    return message;
  }
  // A message is immutable once anyone sees it; this one is not out yet. Same fields, same shape.
  const writable = message as { -readonly [K in keyof Message]: Message[K] };
  writable.publisher = shared;
  if (message.origin !== undefined) writable.origin = shared.clientId;
  return message;
}
