/**
 * A session's queue of deliveries waiting for the inflight window or for the client to
 * come back. Two kinds: in memory (sessions that end with their connection) and in the
 * store (persistent sessions: only a page is held in memory while the client is connected,
 * so a million queued messages do not need a million messages of heap). Both count their
 * entries against `maxQueuedMessagesTotal`; the in-memory one charges the memory budget.
 */
import { MemoryBudget } from './memory-budget.js';
import type { Delivery } from './message.js';
import { detachDelivery } from './message.js';
import type { Persistence } from './persistence.js';

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

/** How many stored deliveries are read into memory at a time. */
const PAGE_SIZE = 256;

/** A queue kept in the store; a page of it is held in memory while draining. */
export class StoredQueue implements DeliveryQueue {
  count: number;
  bytes: number;
  /** Paged-in entries, in order. */
  private buffer: { seq: number; delivery: Delivery }[] = [];
  private bufferHead = 0;
  /** Highest seq read into memory (or dequeued): the next page starts after it. */
  private readSeq = 0;
  /**
   * Highest seq given to an entry: the queue numbers its own entries (the session's owner
   * does, not the store, so a store never has to answer a write synchronously).
   */
  private lastSeq: number;
  /**
   * True while a connection drains the queue and everything stored is also in `buffer`: new
   * entries are then appended to it as well. Never true while the client is away, so an
   * offline session's queue costs no heap.
   */
  private tailInMemory = false;
  private loading: Promise<boolean> | undefined;
  /** A connection is draining the queue. */
  private connected = false;

  constructor(
    private readonly clientId: string,
    private readonly persistence: Persistence,
    private readonly budget: MemoryBudget,
    count = 0,
    bytes = 0,
    lastSeq = 0,
  ) {
    this.count = count;
    this.bytes = bytes;
    this.lastSeq = lastSeq;
    budget.countQueued(count);
  }

  attached(): void {
    this.connected = true;
    this.tailInMemory = this.count === this.buffer.length - this.bufferHead;
  }

  push(delivery: Delivery): boolean {
    const seq = ++this.lastSeq;
    this.persistence.enqueue(this.clientId, seq, delivery);
    this.count++;
    this.bytes += delivery.message.payload.length;
    this.budget.countQueued(1);
    if (this.tailInMemory) {
      this.buffer.push({ seq, delivery });
      this.readSeq = seq;
    }
    return true;
  }

  shift(): Delivery | undefined {
    if (this.bufferHead >= this.buffer.length) return undefined;
    const entry = this.buffer[this.bufferHead]!;
    this.buffer[this.bufferHead] = undefined as unknown as { seq: number; delivery: Delivery };
    this.bufferHead++;
    if (this.bufferHead === this.buffer.length) {
      this.buffer = [];
      this.bufferHead = 0;
    }
    this.persistence.dequeue(this.clientId, entry.seq);
    this.count--;
    this.bytes -= entry.delivery.message.payload.length;
    this.budget.countQueued(-1);
    return entry.delivery;
  }

  page(): Promise<boolean> | undefined {
    if (this.count === 0 || this.bufferHead < this.buffer.length) return undefined;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  takeShared(): Delivery[] {
    // Stored entries are not redistributed: only the page in memory is looked at.
    const taken: Delivery[] = [];
    const kept: { seq: number; delivery: Delivery }[] = [];
    for (let i = this.bufferHead; i < this.buffer.length; i++) {
      const entry = this.buffer[i]!;
      if (entry.delivery.shareFilter !== undefined) {
        taken.push(entry.delivery);
        this.persistence.dequeue(this.clientId, entry.seq);
        this.count--;
        this.bytes -= entry.delivery.message.payload.length;
        this.budget.countQueued(-1);
      } else {
        kept.push(entry);
      }
    }
    this.buffer = kept;
    this.bufferHead = 0;
    return taken;
  }

  detached(): void {
    // The page stays in the store; the next connection reads it again from the first
    // entry not yet dequeued.
    const first = this.buffer[this.bufferHead];
    if (first) this.readSeq = first.seq - 1;
    this.buffer = [];
    this.bufferHead = 0;
    this.tailInMemory = false;
    this.connected = false;
  }

  held(): Delivery[] {
    return this.buffer.slice(this.bufferHead).map((e) => e.delivery);
  }

  release(): void {
    // The store deletes the entries with the session; only the count goes back.
    this.budget.countQueued(-this.count);
    this.count = 0;
    this.bytes = 0;
    this.buffer = [];
    this.bufferHead = 0;
  }

  private async load(): Promise<boolean> {
    const entries = await this.persistence.readQueue(this.clientId, this.readSeq, PAGE_SIZE);
    // The client left while the page was read: keep nothing (it stays stored).
    if (!this.connected) return false;
    for (const entry of entries) this.buffer.push(entry);
    if (entries.length > 0) this.readSeq = entries[entries.length - 1]!.seq;
    // Entries pushed while the page was read are stored but not in memory: only when the
    // counts agree is everything in memory, so that new entries may be appended directly.
    this.tailInMemory = this.count === this.buffer.length - this.bufferHead;
    return entries.length > 0;
  }
}
