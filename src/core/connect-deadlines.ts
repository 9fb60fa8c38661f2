/**
 * The CONNECT deadlines of all new connections, behind one timer. Every connection gets the
 * same timeout, so deadlines come in the order connections are opened: a FIFO, and a single
 * timer armed for its head, replace a Timeout and a closure per connection (about 10 µs of
 * broker CPU per accepted connection in the connection profile, bench/RESULTS.md).
 */
import type { Clock, TimerHandle } from '../ports/index.js';

/** Drops consumed entries once this many have piled up at the front. */
const COMPACT_AFTER = 1024;

/**
 * Calls `expire(item)` once `timeoutMs` has passed since `add(item)`, in order, unless the
 * item was removed first (removing drops the reference, so a closed connection is not kept).
 */
export class ConnectDeadlines<T> {
  private items: (T | undefined)[] = [];
  private deadlines: number[] = [];
  private head = 0;
  /** Ticket of `items[0]`: tickets stay valid across compactions. */
  private base = 0;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly expire: (item: T) => void,
  ) {}

  /** Entries not yet expired (items that connected meanwhile included). */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Starts the timeout of `item`; returns the ticket that removes it. */
  add(item: T): number {
    const ticket = this.base + this.items.length;
    this.items.push(item);
    this.deadlines.push(this.clock.now() + this.timeoutMs);
    if (this.timer === undefined) this.arm(this.timeoutMs);
    return ticket;
  }

  /** Cancels the timeout of the item `add` gave `ticket` (no-op once it has expired). */
  remove(ticket: number): void {
    const i = ticket - this.base;
    if (i >= this.head && i < this.items.length) this.items[i] = undefined;
  }

  /** Stops the timer (the broker closes). */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.base += this.items.length;
    this.items = [];
    this.deadlines = [];
    this.head = 0;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(1, ms));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const { items, deadlines } = this;
    while (this.head < items.length && (deadlines[this.head] as number) <= now) {
      const item = items[this.head];
      items[this.head] = undefined;
      this.head++;
      if (item !== undefined) this.expire(item);
    }
    if (this.items !== items) return; // stop() ran inside expire
    if (this.head === items.length) {
      this.base += items.length;
      this.items = [];
      this.deadlines = [];
      this.head = 0;
      return;
    }
    if (this.head > COMPACT_AFTER && this.head * 2 > items.length) {
      this.base += this.head;
      this.items = items.slice(this.head);
      this.deadlines = deadlines.slice(this.head);
      this.head = 0;
    }
    this.arm((this.deadlines[this.head] as number) - now);
  }
}
