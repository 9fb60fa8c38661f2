/**
 * Deadlines of many keys behind one timer: an indexed min-heap (by deadline) with a map from
 * key to entry, so that adding, moving and removing a key cost O(log n) and nothing stale
 * stays behind (a replaced retained message frees its entry at once). The one timer is armed
 * for the earliest deadline, at most once per `minIntervalMs` (default
 * {@link MIN_SWEEP_INTERVAL_MS}: many deadlines a few ms apart are swept together).
 */
import type { Clock, TimerHandle } from '../ports/index.js';

/** Default shortest time between two sweeps. */
export const MIN_SWEEP_INTERVAL_MS = 100;

/** Keys handled per sweep; more are left to a sweep right after, so the loop stays free. */
const SWEEP_BATCH = 10_000;

interface Entry<K> {
  key: K;
  at: number;
  /** Position in the heap array. */
  pos: number;
}

/** Keys with deadlines; `onDue(key, now)` is called once a key's deadline has passed. */
export class ExpiryIndex<K> {
  private readonly heap: Entry<K>[] = [];
  private readonly entries = new Map<K, Entry<K>>();
  private timer: TimerHandle | undefined;
  /** When the armed timer fires (ms since the epoch). */
  private timerAt = Number.POSITIVE_INFINITY;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (key: K, now: number) => void,
    private readonly minIntervalMs = MIN_SWEEP_INTERVAL_MS,
  ) {}

  /** Number of keys with a deadline. */
  get size(): number {
    return this.heap.length;
  }

  /** The deadline of `key` (ms since the epoch), or undefined when it has none. */
  deadline(key: K): number | undefined {
    return this.entries.get(key)?.at;
  }

  /** Sets (or moves) the deadline of `key`. */
  set(key: K, at: number): void {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      const added: Entry<K> = { key, at, pos: this.heap.length };
      this.heap.push(added);
      this.entries.set(key, added);
      this.up(added.pos);
    } else {
      const earlier = at < entry.at;
      entry.at = at;
      if (earlier) this.up(entry.pos);
      else this.down(entry.pos);
    }
    this.arm();
  }

  /** Removes the deadline of `key` (nothing if it has none). */
  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    const last = this.heap.pop()!;
    if (last !== entry) {
      this.heap[entry.pos] = last;
      last.pos = entry.pos;
      this.up(last.pos);
      this.down(last.pos);
    }
  }

  /** Calls `onDue` for every key whose deadline is at or before `now`; returns how many. */
  sweep(now: number, limit = Number.POSITIVE_INFINITY): number {
    let swept = 0;
    while (swept < limit && this.heap.length > 0 && this.heap[0]!.at <= now) {
      const key = this.heap[0]!.key;
      this.delete(key);
      swept++;
      this.onDue(key, now);
    }
    return swept;
  }

  /** Cancels the timer (the broker closes). */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    // A full batch leaves more due now: the next sweep may follow at once.
    this.lastSweep = this.sweep(now, SWEEP_BATCH) < SWEEP_BATCH ? now : Number.NEGATIVE_INFINITY;
    this.arm();
  };

  /** Arms the timer for the earliest deadline if it is not armed for it already. */
  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) return;
    const at = Math.max(first.at, this.lastSweep + this.minIntervalMs);
    if (at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, at - this.clock.now()));
  }

  private up(pos: number): void {
    const heap = this.heap;
    const entry = heap[pos]!;
    while (pos > 0) {
      const parentPos = (pos - 1) >> 1;
      const parent = heap[parentPos]!;
      if (parent.at <= entry.at) break;
      heap[pos] = parent;
      parent.pos = pos;
      pos = parentPos;
    }
    heap[pos] = entry;
    entry.pos = pos;
  }

  private down(pos: number): void {
    const heap = this.heap;
    const entry = heap[pos]!;
    const n = heap.length;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.at < heap[child]!.at) child++;
      const smaller = heap[child]!;
      if (smaller.at >= entry.at) break;
      heap[pos] = smaller;
      smaller.pos = pos;
      pos = child;
    }
    heap[pos] = entry;
    entry.pos = pos;
  }
}
