/**
 * The keep-alive deadlines of all connections, behind one timer. A Node `Timeout` and its
 * closure per connection cost ~230 B of heap on every idle connection with a keep alive
 * (bench/heap-by-class.mjs: Timeout 120 B, closure 56 B, its context 40 B, two boxed
 * numbers), and every check that found the client active made a new pair. Here a binary
 * min-heap orders the connections by deadline, each entry is a slot in two arrays (the
 * deadlines are unboxed doubles), and one timer is armed for the earliest deadline, so a
 * connection's keep alive fires exactly when its own timer used to.
 *
 * Receiving a packet does not touch the heap (the hot path only writes `lastActivity`):
 * when a deadline comes, the item decides whether it timed out or gives a later deadline,
 * and only then moves down the heap.
 */
import type { Clock, TimerHandle } from '../ports/index.js';

/** An entry of the heap: it keeps its own position so that removal is O(log n). */
export interface KeepAliveItem {
  /** Position in the heap; -1 when not in it. Written by KeepAliveDeadlines alone. */
  keepAliveSlot: number;
  /**
   * The item's deadline came: returns its next deadline (clock ms) to stay in the heap,
   * or -1 to leave it (it timed out and closed, or needs no more checks).
   */
  keepAliveDue(now: number): number;
}

/** Calls each item's `keepAliveDue` at its deadline, with one timer for all of them. */
export class KeepAliveDeadlines {
  private readonly items: KeepAliveItem[] = [];
  private readonly deadlines: number[] = [];
  private timer: TimerHandle | undefined;
  /** The deadline the timer is armed for (Infinity when none). */
  private armedFor = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(private readonly clock: Clock) {}

  /** Items waiting for a deadline. */
  get size(): number {
    return this.items.length;
  }

  /** Adds `item` with its first deadline (clock ms), or moves it there if it is in already. */
  schedule(item: KeepAliveItem, deadline: number): void {
    if (this.stopped) return;
    if (item.keepAliveSlot >= 0) this.remove(item);
    const slot = this.items.length;
    this.items.push(item);
    this.deadlines.push(deadline);
    item.keepAliveSlot = slot;
    this.siftUp(slot);
    this.rearm();
  }

  /** Takes `item` out (no-op if it is not in); it is not referenced afterwards. */
  remove(item: KeepAliveItem): void {
    const slot = item.keepAliveSlot;
    if (slot < 0) return;
    item.keepAliveSlot = -1;
    const last = this.items.length - 1;
    const moved = this.items.pop() as KeepAliveItem;
    const movedDeadline = this.deadlines.pop() as number;
    if (slot !== last) {
      this.place(moved, movedDeadline, slot);
      this.siftDown(slot);
      this.siftUp(moved.keepAliveSlot);
    }
    this.rearm();
  }

  /** Stops the timer and forgets every item (the broker closes). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    for (const item of this.items) item.keepAliveSlot = -1;
    this.items.length = 0;
    this.deadlines.length = 0;
  }

  /** Runs every item whose deadline has come, then arms the timer for the next one. */
  private fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    while (this.items.length > 0 && (this.deadlines[0] as number) <= now) {
      const item = this.items[0] as KeepAliveItem;
      const next = item.keepAliveDue(now);
      if (this.stopped) return;
      // keepAliveDue may have closed the item, which removed it already.
      if (item.keepAliveSlot !== 0) continue;
      if (next < 0) {
        this.remove(item);
        continue;
      }
      // A deadline not after now would spin here; the item asked for a check, so one ms on.
      this.deadlines[0] = Math.max(next, now + 1);
      this.siftDown(0);
    }
    this.rearm();
  }

  /** Keeps the one timer armed for the earliest deadline. */
  private rearm(): void {
    const first = this.items.length > 0 ? (this.deadlines[0] as number) : Number.POSITIVE_INFINITY;
    if (first === this.armedFor) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = first;
    if (first === Number.POSITIVE_INFINITY) return;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(1, first - this.clock.now()));
  }

  private place(item: KeepAliveItem, deadline: number, slot: number): void {
    this.items[slot] = item;
    this.deadlines[slot] = deadline;
    item.keepAliveSlot = slot;
  }

  private siftUp(start: number): void {
    const { items, deadlines } = this;
    const item = items[start] as KeepAliveItem;
    const deadline = deadlines[start] as number;
    let slot = start;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if ((deadlines[parent] as number) <= deadline) break;
      this.place(items[parent] as KeepAliveItem, deadlines[parent] as number, slot);
      slot = parent;
    }
    this.place(item, deadline, slot);
  }

  private siftDown(start: number): void {
    const { items, deadlines } = this;
    const n = items.length;
    const item = items[start] as KeepAliveItem;
    const deadline = deadlines[start] as number;
    let slot = start;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= n) break;
      const right = left + 1;
      const child =
        right < n && (deadlines[right] as number) < (deadlines[left] as number) ? right : left;
      if ((deadlines[child] as number) >= deadline) break;
      this.place(items[child] as KeepAliveItem, deadlines[child] as number, slot);
      slot = child;
    }
    this.place(item, deadline, slot);
  }
}
