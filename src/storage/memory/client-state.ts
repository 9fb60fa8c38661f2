/** The memory store's per-client record: session, subscriptions, queue, inflight, inbound ids. */
import type {
  QueuedEntry,
  SessionOwner,
  StoredInflight,
  StoredSession,
  StoredSubscription,
} from '../../ports/index.js';
import { copyDelivery, copySubscription } from '../shared/copy.js';

/** Everything held for one client id (with or without a session record). */
export class ClientState {
  session:
    | { expiryInterval: number; expiresAt: number | undefined; owner?: SessionOwner | undefined }
    | undefined;
  readonly subscriptions = new Map<string, StoredSubscription>();
  /** Queue entries in seq order; entries before `head` are already dequeued. */
  private queue: QueuedEntry[] = [];
  private head = 0;
  lastSeq = 0;
  queuedBytes = 0;
  /** Map order is send order: re-putting the same packet id keeps its place. */
  readonly inflight = new Map<number, StoredInflight>();
  readonly inboundQos2 = new Set<number>();

  get queuedCount(): number {
    return this.queue.length - this.head;
  }

  /** Appends an entry (its seq is above every earlier one). */
  push(entry: QueuedEntry): void {
    this.queue.push(entry);
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

  /** Every live entry (for cascading deletes). */
  all(): QueuedEntry[] {
    return this.queue.slice(this.head);
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

  /** The session as `load()` returns it; undefined without a session record. */
  toStored(clientId: string): StoredSession | undefined {
    if (this.session === undefined) return undefined;
    const out: StoredSession = {
      clientId,
      expiryInterval: this.session.expiryInterval,
      subscriptions: [...this.subscriptions.values()].map(copySubscription),
      inflight: [...this.inflight.values()].map((f) => ({
        packetId: f.packetId,
        state: f.state,
        delivery: copyDelivery(f.delivery),
      })),
      inboundQos2: [...this.inboundQos2],
      queuedCount: this.queuedCount,
      queuedBytes: this.queuedBytes,
    };
    if (this.session.expiresAt !== undefined) out.expiresAt = this.session.expiresAt;
    if (this.session.owner !== undefined) out.owner = { username: this.session.owner.username };
    return out;
  }
}
