/**
 * A session's queue of deliveries waiting for the inflight window or for the client to
 * come back. Two kinds: in memory (sessions that end with their connection) and in the
 * store (persistent sessions: only a page is held in memory while the client is connected,
 * so a million queued messages do not need a million messages of heap). Both count their
 * entries against `maxQueuedMessagesTotal`; the in-memory one charges the memory budget.
 * The stored one is in stored-queue.ts.
 */
import { MemoryBudget } from './memory-budget.js';
import type { Delivery } from './message.js';
import { detachDelivery } from './message.js';

/** The queue a session drains. */
export interface DeliveryQueue {
  /** Deliveries queued (in memory and in the store). */
  readonly count: number;
  /** Payload bytes queued. */
  readonly bytes: number;
  /**
   * Appends a delivery (the caller checked the per-session limits). False when the memory
   * budget has no room for it (`durable`: the entry outlives the connection).
   */
  push(delivery: Delivery, durable: boolean): boolean;
  /** The next delivery held in memory, or undefined (then `count > 0` means: page in first). */
  shift(): Delivery | undefined;
  /** Loads the next page from the store; resolves false when there was nothing to load. */
  page(): Promise<boolean> | undefined;
  /** Removes and returns the queued deliveries that came through shared subscriptions. */
  takeShared(): Delivery[];
  /** A connection took the session: new entries may be held in memory for it. */
  attached(): void;
  /** Frees memory held for a connection that went away (stored entries stay stored). */
  detached(): void;
  /** Deliveries held in memory, in order (inspection and tests). */
  held(): Delivery[];
  /** Empties the queue's account (the session ended or moved its queue to the store). */
  release(): void;
  /**
   * Writes to the store what only memory holds of a stored queue (entries whose batch
   * failed), before the session leaves this node for another (stored-queue.ts).
   */
  storeHeld?(): Promise<void>;
  /**
   * Reads the stored queue, calls `reset` (which deletes it), and writes every entry again
   * (a session whose deletion's batch failed: stored-queue.ts).
   */
  rewrite?(reset: () => void): Promise<void>;
}

/**
 * The queue of a session that never queued anything: shared by all of them, so an idle
 * session holds no queue of its own. It is never pushed to (Session replaces it first).
 */
export const EMPTY_QUEUE: DeliveryQueue = Object.freeze({
  count: 0,
  bytes: 0,
  push(): boolean {
    throw new Error('EMPTY_QUEUE is shared: replace it before pushing');
  },
  shift: (): undefined => undefined,
  page: (): undefined => undefined,
  takeShared: (): Delivery[] => [],
  attached(): void {},
  detached(): void {},
  held: (): Delivery[] => [],
  release(): void {},
});

/**
 * The in-memory queue. Each entry is charged {@link MemoryBudget.queuedEntryCost}, and each
 * message's payload once however many queues hold it (`Message.queueRefs` counts them).
 */
export class MemoryQueue implements DeliveryQueue {
  private items: Delivery[] = [];
  private head = 0;
  bytes = 0;

  constructor(private readonly budget: MemoryBudget) {}

  get count(): number {
    return this.items.length - this.head;
  }

  push(delivery: Delivery, durable: boolean): boolean {
    const held = detachDelivery(delivery);
    const message = held.message;
    const refs = message.queueRefs ?? 0;
    const entryCost = MemoryBudget.queuedEntryCost(held);
    const cost = refs === 0 ? entryCost + message.payload.length : entryCost;
    if (!this.budget.fits(cost, durable)) return false;
    message.queueRefs = refs + 1;
    this.budget.chargeQueued(cost, 1);
    this.items.push(held);
    this.bytes += message.payload.length;
    return true;
  }

  shift(): Delivery | undefined {
    if (this.head >= this.items.length) return undefined;
    const delivery = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as Delivery;
    this.head++;
    this.unhold(delivery);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return delivery;
  }

  page(): undefined {
    return undefined;
  }

  takeShared(): Delivery[] {
    const taken: Delivery[] = [];
    const kept: Delivery[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const d = this.items[i]!;
      if (d.shareFilter === undefined) {
        kept.push(d);
      } else {
        taken.push(d);
        this.unhold(d);
      }
    }
    this.items = kept;
    this.head = 0;
    return taken;
  }

  attached(): void {}

  detached(): void {}

  held(): Delivery[] {
    return this.items.slice(this.head);
  }

  release(): void {
    for (let i = this.head; i < this.items.length; i++) this.unhold(this.items[i]!);
    this.items = [];
    this.head = 0;
  }

  /** An entry left the queue: its charges go back to the budget. */
  private unhold(delivery: Delivery): void {
    const message = delivery.message;
    const length = message.payload.length;
    const refs = (message.queueRefs ?? 1) - 1;
    message.queueRefs = refs;
    const entryCost = MemoryBudget.queuedEntryCost(delivery);
    this.budget.chargeQueued(refs === 0 ? -(entryCost + length) : -entryCost, -1);
    this.bytes -= length;
  }
}
