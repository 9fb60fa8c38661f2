/**
 * Where a session's deliveries wait for the inflight window or for their client to come back:
 * in memory, or, once the session is persistent, in the store (stored-queue.ts), with the
 * limits and the memory budget that bound it. Session (session.ts) sends from it.
 */
import type { DeliveryQueue } from './delivery-queue.js';
import { EMPTY_QUEUE, MemoryQueue } from './delivery-queue.js';
import type { Delivery } from './message.js';
import type { Persistence } from './persistence.js';
import type { SessionEnvironment } from './session-environment.js';
import { SessionRecord } from './session-record.js';
import { StoredQueue } from './stored-queue.js';

/** A session's record and its queue of waiting deliveries. */
export class SessionQueue extends SessionRecord {
  /** Deliveries waiting for the inflight window or for the client to come back. */
  protected queue: DeliveryQueue = EMPTY_QUEUE;
  /** Set once the broker ended the session: nothing is queued for it any more. */
  private ended = false;

  constructor(
    clientId: string,
    protected readonly env: SessionEnvironment,
  ) {
    super(clientId);
  }

  /** Number of queued deliveries. */
  get queuedCount(): number {
    return this.queue.count;
  }

  /** Payload bytes queued. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /**
   * The queue moves to the store (`count`/`bytes` describe what the store already holds for
   * it, after a restart), with what it held in memory.
   */
  protected queueToStore(persistence: Persistence, storedCount: number, storedBytes: number): void {
    const held = this.queue.held();
    this.queue.release();
    this.queue = new StoredQueue(
      this.clientId,
      persistence,
      this.env.budget,
      storedCount,
      storedBytes,
    );
    for (const delivery of held) this.queue.push(delivery, true);
  }

  /**
   * Attaches a session restored from the store to its stored queue (nothing is rewritten);
   * new entries are numbered above `lastSeq`, the highest the store holds.
   */
  adoptStore(
    persistence: Persistence,
    storedCount: number,
    storedBytes: number,
    lastSeq = 0,
  ): void {
    this.persistence = persistence;
    this.queue = new StoredQueue(
      this.clientId,
      persistence,
      this.env.budget,
      storedCount,
      storedBytes,
      lastSeq,
    );
  }

  /**
   * Puts a delivery at the end of the queue, or drops it (counted) when the queue is full,
   * when `maxQueuedMessagesTotal` deliveries are queued broker-wide, or when the memory
   * budget has no room for it.
   */
  enqueue(delivery: Delivery): void {
    if (this.ended) return;
    const size = delivery.message.payload.length;
    const env = this.env;
    if (this.queue.count >= env.maxQueuedMessages || this.queue.bytes + size > env.maxQueuedBytes) {
      env.dropped(this, delivery, 'queue-full');
      return;
    }
    if (!env.budget.queueHasRoom) {
      env.dropped(this, delivery, 'queued-total');
      return;
    }
    if (this.queue === EMPTY_QUEUE) this.queue = new MemoryQueue(env.budget);
    // A persistent session's queue outlives the connection: the budget's durable share.
    if (!this.queue.push(delivery, this.expiryInterval > 0)) {
      env.dropped(this, delivery, 'memory-budget');
    }
  }

  /** Writes what its queue holds only in memory to the store (before it leaves the node). */
  async storeHeld(): Promise<void> {
    await this.queue.storeHeld?.();
  }

  /** Calls `reset` then writes the whole queue again (stored-queue.ts `rewrite`). */
  async rewriteStored(reset: () => void): Promise<void> {
    await (this.queue.rewrite?.(reset) ?? reset());
  }

  /** Queued deliveries in order (for persistence and inspection). */
  queuedDeliveries(): Delivery[] {
    return this.queue.held();
  }

  /** The broker ended the session: its queue's charges go back and nothing more is queued. */
  end(): void {
    this.ended = true;
    this.queue.release();
    this.queue = EMPTY_QUEUE;
  }
}
