/**
 * What the Redis store's port parts share: the connection, the key layout, the group commit,
 * the last message id, and message references (a body written with the first reference to
 * it in a batch; references taken back by the scripts that remove entries, in the same step,
 * and the messages left unreferenced deleted at the end of the batch: redis-scripts.ts).
 */

import type { StoredMessage } from '../../ports/index.js';
import type { RedisClient } from '../../redis/redis-client.js';
import { MessageIds } from '../shared/message-ids.js';
import { encodeMessage } from './redis-codec.js';
import type { RedisGroupCommit } from './redis-group-commit.js';
import type { RedisKeys } from './redis-keys.js';

/** An open connection. */
export interface RedisLive {
  client: RedisClient;
  batcher: RedisGroupCommit;
}

/** The shared state of one Redis store. */
export class RedisContext {
  /** Set while the store is open. */
  live: RedisLive | undefined;
  /** Highest message id stored (messages and retained), raised in Redis with each batch. */
  readonly ids = new MessageIds();
  /** Message bodies this store instance knows to exist (at open, then created - deleted). */
  messageCount = 0;
  private lastIdWritten = 0;
  /**
   * Messages put (`putMessage`) in the current and the previous batch, for the entries that
   * reference them; the core puts a message right before each entry that references it.
   */
  private current = new Map<number, StoredMessage>();
  private previous = new Map<number, StoredMessage>();
  /** Bodies already in the current batch (written once per batch however many entries). */
  private bodiesSent = new Set<number>();
  /** Clients already added to the queue index in the current batch. */
  private queuesNoted = new Set<string>();
  /** A script of the current batch may have released a message (so the batch collects). */
  private releasing = false;

  constructor(
    readonly keys: RedisKeys,
    /** The server, for errors (the URL without its password). */
    readonly server: string,
  ) {}

  /** The open connection; throws when the store is not open. */
  conn(): RedisLive {
    if (this.live === undefined) throw new Error(`the Redis store (${this.server}) is not open`);
    return this.live;
  }

  /** The store opened with `lastMessageId` as the highest id in Redis. */
  opened(live: RedisLive, lastMessageId: number, messageCount: number): void {
    this.live = live;
    this.ids.saw(lastMessageId);
    this.lastIdWritten = this.ids.last;
    this.messageCount = messageCount;
  }

  /** Notes a message for the entries that will reference it. */
  putMessage(message: StoredMessage): void {
    this.ids.saw(message.id);
    // Idempotent by id: the first copy stays (as HSETNX keeps the one already in Redis).
    if (!this.current.has(message.id)) this.current.set(message.id, message);
  }

  /** Adds one reference to message `id` (and its body, the first time in a batch). */
  addReference(id: number): void {
    const { batcher } = this.conn();
    const key = this.keys.message(id);
    const message = this.current.get(id) ?? this.previous.get(id);
    if (message !== undefined && !this.bodiesSent.has(id)) {
      this.bodiesSent.add(id);
      batcher.add({
        name: 'hsetnx',
        args: [key, 'b', encodeMessage(message)],
        onReply: (created) => {
          if (created === 1) this.messageCount++;
        },
      });
    }
    batcher.add({ name: 'hincrby', args: [key, 'r', 1] });
  }

  /**
   * Notes that the current batch removes entries (their scripts take the references back):
   * it ends with `pipitCollect`, which deletes the messages left unreferenced.
   */
  noteRelease(): void {
    this.releasing = true;
  }

  /** Adds `clientId` to the index of clients with queue or inflight entries (once per batch). */
  noteQueue(clientId: string): void {
    if (this.queuesNoted.has(clientId)) return;
    this.queuesNoted.add(clientId);
    this.conn().batcher.add({ name: 'sadd', args: [this.keys.queues, clientId] });
  }

  /** Forgets that `clientId` was indexed in this batch (its queue is being deleted). */
  forgetQueue(clientId: string): void {
    this.queuesNoted.delete(clientId);
  }

  /** The size of a message's payload, if it was put in the current or the previous batch. */
  payloadSize(id: number): number {
    return (this.current.get(id) ?? this.previous.get(id))?.payload.length ?? 0;
  }

  /**
   * Runs just before each batch is sent: raises the last message id, collects the messages
   * the batch left unreferenced (last, after every entry of the batch took its reference),
   * starts a new window.
   */
  beforeSend(): void {
    if (this.ids.last > this.lastIdWritten && this.live !== undefined) {
      this.lastIdWritten = this.ids.last;
      this.live.batcher.add({ name: 'pipitRaiseLastId', args: [this.keys.meta, this.ids.last] });
    }
    if (this.releasing && this.live !== undefined) {
      this.live.batcher.add({
        name: 'pipitCollect',
        args: [this.keys.released, this.keys.messagePrefix],
        onReply: (deleted) => {
          this.messageCount -= Number(deleted);
        },
      });
    }
    this.releasing = false;
    this.previous = this.current;
    this.current = new Map();
    this.bodiesSent = new Set();
    this.queuesNoted = new Set();
  }
}
