/** The memory store's per-client entries of the message port: the queue and the inflight window. */
import type { QueuedEntry, StoredInflight, StoredQueueState } from '../../ports/index.js';
import { copyDelivery } from '../shared/copy.js';

/** One client's queued and inflight entries. */
export class ClientQueue {
  /** Queue entries in seq order; entries before `head` are already dequeued. */
  private queue: QueuedEntry[] = [];
  private head = 0;
  queuedBytes = 0;
  /** Map order is send order: re-putting the same packet id keeps its place. */
  readonly inflight = new Map<number, StoredInflight>();

  get queuedCount(): number {
    return this.queue.length - this.head;
  }

  /** Highest seq queued, 0 when the queue is empty. */
  get lastSeq(): number {
    return this.queuedCount === 0 ? 0 : this.queue[this.queue.length - 1].seq;
  }

  /** True when the client has neither queued nor inflight entries. */
  get empty(): boolean {
    return this.queuedCount === 0 && this.inflight.size === 0;
  }

  /**
   * Appends an entry; its seq must be above every queued one (the owner numbers them), or
   * one the queue does not hold (an entry written again after its batch failed): it goes in
   * its place. A seq held already is refused (the owner numbered two entries alike).
   */
  push(entry: QueuedEntry): void {
    if (entry.seq > this.lastSeq) {
      this.queue.push(entry);
      return;
    }
    const at = this.firstAfter(entry.seq - 1);
    if (at < this.queue.length && this.queue[at].seq === entry.seq) {
      throw new Error(`enqueue: seq ${entry.seq} is queued already`);
    }
    this.queue.splice(at, 0, entry);
  }

  /** Entries with seq > afterSeq, at most `limit`. */
  read(afterSeq: number, limit: number): QueuedEntry[] {
    const start = this.firstAfter(afterSeq);
    return this.queue.slice(start, Math.min(this.queue.length, start + Math.max(0, limit)));
  }

  /** Removes the entries with seq <= uptoSeq and returns them. */
  removeUpTo(uptoSeq: number): QueuedEntry[] {
    const end = this.firstAfter(uptoSeq);
    if (end <= this.head) return [];
    const removed = this.queue.slice(this.head, end);
    this.head = end;
    // Compact once the dead prefix dominates, so dequeue stays amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return removed;
  }

  /** Removes the entry at `seq` and returns it (undefined when none is queued there). */
  remove(seq: number): QueuedEntry | undefined {
    const at = this.firstAfter(seq - 1);
    if (at >= this.queue.length || this.queue[at].seq !== seq) return undefined;
    if (at === this.head) return this.removeUpTo(seq)[0];
    return this.queue.splice(at, 1)[0];
  }

  /** Every live entry (for cascading deletes). */
  all(): QueuedEntry[] {
    return this.queue.slice(this.head);
  }

  /** The queue state as `loadQueue` returns it. */
  toState(): StoredQueueState {
    return {
      inflight: [...this.inflight.values()].map((f) => ({
        packetId: f.packetId,
        state: f.state,
        delivery: copyDelivery(f.delivery),
      })),
      queuedCount: this.queuedCount,
      queuedBytes: this.queuedBytes,
      lastSeq: this.lastSeq,
    };
  }

  /** Index of the first live entry with seq > afterSeq (binary search: seqs increase). */
  private firstAfter(afterSeq: number): number {
    let lo = this.head;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid].seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
