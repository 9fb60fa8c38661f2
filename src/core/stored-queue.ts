/**
 * The queue of a persistent session, kept in the store: only a page is held in memory while
 * the client is connected, so a million queued messages do not need a million messages of
 * heap, and an offline session's queue costs none.
 *
 * A store write can fail (Redis unreachable for a few seconds during a failover, a full
 * disk). An entry written to the store only (its client away, or the page before it not yet
 * read) in a batch that failed would be counted and never read back: lost, and the count
 * would keep the queue waiting for an entry no page holds, so a connected session got
 * nothing more until its client connected again. So the store-only entries of a turn learn
 * whether the store committed them (one check per turn, Persistence.onTurnFailure); those of
 * a failed commit are held in memory instead (`unstored`) and delivered from there in their
 * place (by seq), once: a commit reported failed may have landed after all (a `WAIT` answered
 * short), and an entry read from the store, or taken already, is not taken from memory again.
 * Held in memory only: if this node dies before they are delivered, they are gone, as
 * before. A session that moves to another node (a takeover across a cluster, a drain) writes
 * them to the store again first ({@link StoredQueue.storeHeld}): the other node reads them
 * there (before, they were lost with the move: the cluster's failover soak found it).
 */
import type { DeliveryQueue } from './delivery-queue.js';
import type { MemoryBudget } from './memory-budget.js';
import type { Delivery } from './message.js';
import type { Persistence, TurnMarker } from './persistence.js';
import { UnsettledWrites } from './unsettled-writes.js';

/** How many stored deliveries are read into memory at a time. */
const PAGE_SIZE = 256;

/** A queue entry: its number in the client's queue, and the delivery. */
interface Entry {
  seq: number;
  delivery: Delivery;
}

/** A queue kept in the store; a page of it is held in memory while draining. */
export class StoredQueue implements DeliveryQueue {
  count: number;
  bytes: number;
  /** Paged-in entries, in order. */
  private buffer: Entry[] = [];
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
  /** Highest seq taken from the queue (entries leave in seq order). */
  private shiftedSeq = 0;
  /** Entries whose store write failed, by seq: this queue holds them until they are taken. */
  private readonly unstored = new Map<number, Delivery>();
  /** The store-only entries of this turn, not yet known to be committed. */
  private unconfirmed: { turn: TurnMarker; entries: Entry[] } | undefined;
  /** The session ended or moved its queue: a late failure holds nothing more. */
  private released = false;
  /** Entries whose batch is in flight: a page read waits for them, and never uncounts them. */
  private readonly inFlight = new UnsettledWrites();

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
    const entry = { seq, delivery };
    if (this.tailInMemory) {
      this.buffer.push(entry);
      this.readSeq = seq;
    }
    // In memory too while the tail is, but only until its client goes away (detached drops
    // the page, to be read again from the store): so it too learns whether its write landed.
    this.confirm(entry);
    return true;
  }

  shift(): Delivery | undefined {
    if (this.bufferHead >= this.buffer.length) return undefined;
    const entry = this.buffer[this.bufferHead]!;
    this.buffer[this.bufferHead] = undefined as unknown as Entry;
    this.bufferHead++;
    if (this.bufferHead === this.buffer.length) {
      this.buffer = [];
      this.bufferHead = 0;
    }
    this.shiftedSeq = entry.seq;
    if (this.unstored.size > 0) this.unstored.delete(entry.seq);
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
    // Stored entries are not redistributed: only the page in memory is looked at. Each shared
    // entry leaves the store alone: they are out of order, and the entries below one that
    // stay (the session's own, still queued for it) must stay stored too; `dequeue(seq)`
    // removed them with it, and a restart or the session's next node lost them.
    // SessionRegistry.released detaches the session first, which drops the page: there this
    // finds nothing, and a persistent session's queued shared deliveries stay with it.
    const taken: Delivery[] = [];
    const kept: Entry[] = [];
    for (let i = this.bufferHead; i < this.buffer.length; i++) {
      const entry = this.buffer[i]!;
      if (entry.delivery.shareFilter !== undefined) {
        taken.push(entry.delivery);
        this.unstored.delete(entry.seq);
        this.persistence.removeQueued(this.clientId, entry.seq);
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
    // The page stays in the store (and the unstored entries here): the next connection reads
    // it again from the first entry not yet dequeued.
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
    this.unstored.clear();
    this.inFlight.clear();
    this.released = true;
  }

  /**
   * Writes what only memory knows to the store again, in the current batch (the caller
   * commits). The entries taken so far are removed again (idempotent: their removal's batch
   * may have failed, and the store would send them again under new packet ids). The entries
   * held in memory (their batch failed) are written each at its seq: those the store lacks,
   * read first, since a batch reported failed may have landed after all (a `WAIT` answered
   * short), and one written twice would count its message twice; they stay held here too
   * until read back or taken. A read that fails leaves them held here (the caller logs it).
   */
  async storeHeld(): Promise<void> {
    if (this.shiftedSeq > 0 && !this.released) {
      this.persistence.dequeue(this.clientId, this.shiftedSeq);
    }
    if (this.unstored.size === 0) return;
    const seqs = [...this.unstored.keys()].sort((a, b) => a - b);
    const last = seqs[seqs.length - 1]!;
    const stored = new Set<number>();
    for (let after = seqs[0]! - 1; after < last; ) {
      const page = await this.persistence.readQueue(this.clientId, after, PAGE_SIZE);
      for (const entry of page.entries) stored.add(entry.seq);
      const next = page.entries.at(-1)?.seq;
      if (page.end || next === undefined) break;
      after = next;
    }
    for (const seq of seqs) {
      const delivery = this.unstored.get(seq);
      // Taken meanwhile, or in the store after all.
      if (delivery === undefined || stored.has(seq)) continue;
      // Still held here until a page reads it from the store or it is taken: a page read sent
      // before this write lands finds it in neither place otherwise, and takes it for lost
      // (the sentinel failover test lost one so: the session resync runs this while its
      // client is connected).
      this.persistence.enqueue(this.clientId, seq, delivery);
      this.confirm({ seq, delivery });
    }
  }

  /**
   * The client's stored session was to be deleted (a clean start [MQTT-3.1.2-4]) and the
   * batch that deleted it failed: the store still holds the old queue, entries this queue
   * numbered again from 1 among them. Reads this queue's entries (those not taken yet, up to
   * its last seq: in the store, or held in memory, memory's first), calls `reset` (which
   * deletes the stored session and queue), and writes them again, so the store holds this
   * queue and nothing of the old one. A read that fails rejects before anything is written.
   */
  async rewrite(reset: () => void): Promise<void> {
    const entries = new Map<number, Delivery>();
    for (let after = this.shiftedSeq; after < this.lastSeq; ) {
      const page = await this.persistence.readQueue(this.clientId, after, PAGE_SIZE);
      for (const entry of page.entries) {
        if (entry.seq <= this.lastSeq) entries.set(entry.seq, entry.delivery);
      }
      const next = page.entries.at(-1)?.seq;
      if (page.end || next === undefined) break;
      after = next;
    }
    for (let i = this.bufferHead; i < this.buffer.length; i++) {
      const entry = this.buffer[i]!;
      entries.set(entry.seq, entry.delivery);
    }
    for (const [seq, delivery] of this.unstored) entries.set(seq, delivery);
    reset();
    if (this.released) return;
    for (const seq of [...entries.keys()].sort((a, b) => a - b)) {
      if (seq <= this.shiftedSeq) continue; // taken while the store was read
      this.persistence.enqueue(this.clientId, seq, entries.get(seq)!);
    }
  }

  /** Entries held in memory because their store write failed (inspection and tests). */
  get unstoredCount(): number {
    return this.unstored.size;
  }

  /** Learns whether the store committed `entry` (with the other store-only entries of the turn). */
  private confirm(entry: Entry): void {
    const current = this.unconfirmed;
    if (current !== undefined && !current.turn.ended) {
      current.entries.push(entry);
      return;
    }
    const entries = [entry];
    const turn = this.persistence.onTurnFailure(() => this.holdUnstored(entries));
    this.unconfirmed = { turn, entries };
    this.inFlight.watch(entries, turn);
  }

  /**
   * The store did not commit `entries`: hold them here, each in its place, unless taken. One
   * in the page in memory is held too: appended there as the tail (never read from the
   * store), it is gone from memory when its client goes away before it is taken (the page is
   * dropped, to be read again from the store, which lacks it); the soak lost 45 such entries
   * per subscriber when a master kill failed the batch and dropped the connections. Held
   * twice is harmless: every reader goes by seq (taken: gone from both; read from the store
   * after all: memory's copy dropped; storeHeld and rewrite read the store first).
   */
  private holdUnstored(entries: Entry[]): void {
    if (this.released) return;
    for (const entry of entries) {
      if (entry.seq <= this.shiftedSeq) continue; // taken already
      this.unstored.set(entry.seq, entry.delivery);
      // A page past its place was read already: it goes into the buffer now, in order.
      if (this.connected && entry.seq <= this.readSeq && !this.inBuffer(entry.seq)) {
        this.insertInBuffer(entry);
      }
    }
  }

  private inBuffer(seq: number): boolean {
    for (let i = this.bufferHead; i < this.buffer.length; i++) {
      if (this.buffer[i]!.seq === seq) return true;
    }
    return false;
  }

  private insertInBuffer(entry: Entry): void {
    let i = this.bufferHead;
    while (i < this.buffer.length && this.buffer[i]!.seq < entry.seq) i++;
    this.buffer.splice(i, 0, entry);
  }

  private async load(): Promise<boolean> {
    for (;;) {
      // Store-only entries whose batch is in flight are not in a page read now: wait for
      // their batch first (the read would come back short, and they would wait for the next
      // push or acknowledgement to be read).
      const pending = this.inFlight.settledAbove(this.readSeq);
      if (pending !== undefined) await pending;
      if (!this.connected) return false;
      const from = this.readSeq;
      // Entries pushed after this are not in the page (written in a later batch), nor are
      // those above `settled` (their batch was still in flight when the read was sent).
      const lastAtRead = this.lastSeq;
      const settled = Math.max(from, this.inFlight.settledUpTo(lastAtRead));
      const page = await this.persistence.readQueue(this.clientId, from, PAGE_SIZE);
      // The client left while the page was read: keep nothing (it stays stored).
      if (!this.connected) return false;
      const stored = page.entries;
      const upTo = page.end ? lastAtRead : (stored.at(-1)?.seq ?? from);
      const entries = this.unstored.size === 0 ? stored : this.withUnstored(stored, from, upTo);
      for (const entry of entries) this.buffer.push(entry);
      if (entries.length > 0) this.readSeq = entries[entries.length - 1]!.seq;
      if (page.end) this.uncountLost(lastAtRead, settled);
      // Entries pushed while the page was read are stored but not in memory: only when the
      // counts agree is everything in memory, so that new entries may be appended directly.
      this.tailInMemory = this.count === this.buffer.length - this.bufferHead;
      if (entries.length > 0 || this.count === 0 || !page.end) return entries.length > 0;
      // Nothing read, and what is counted was pushed during the read or in flight: read again
      // once their batches settled.
      if (this.inFlight.settledAbove(this.readSeq) === undefined) return false;
    }
  }

  /**
   * A short page: the store holds nothing more up to `lastAtRead` but the entries above
   * `settled` (their batch in flight at the read), so every entry counted is in memory now,
   * or in flight, or was pushed during the read (store-only). More counted than that were lost
   * by the store after it committed them (a Redis failover without a `WAIT`): uncounted and
   * reported, or the queue would wait for them forever, sending nothing queued after them.
   */
  private uncountLost(lastAtRead: number, settled: number): void {
    let inFlight = Math.max(0, lastAtRead - settled);
    for (let i = this.bufferHead; i < this.buffer.length; i++) {
      const seq = this.buffer[i]!.seq;
      if (seq > settled && seq <= lastAtRead) inFlight--;
    }
    const held = this.buffer.length - this.bufferHead + (this.lastSeq - lastAtRead) + inFlight;
    const lost = this.count - held;
    if (lost <= 0) return;
    this.count = held;
    if (held === 0) this.bytes = 0;
    this.budget.countQueued(-lost);
    this.persistence.lostQueued(this.clientId, lost);
  }

  /** A page read from the store with the unstored entries in its range (`from`, `upTo`], by seq. */
  private withUnstored(stored: Entry[], from: number, upTo: number): Entry[] {
    const seqs = new Set(stored.map((e) => e.seq));
    const merged = [...stored];
    for (const [seq, delivery] of this.unstored) {
      if (seq <= from || seq > upTo) continue;
      // In the store after all (the failed commit had landed): taken from there.
      if (seqs.has(seq)) this.unstored.delete(seq);
      else merged.push({ seq, delivery });
    }
    return merged.length === stored.length ? stored : merged.sort((a, b) => a.seq - b.seq);
  }
}
