/**
 * Retained messages, one per topic, held in memory in a compact index that walks only the
 * branches a filter can match (retained-index.ts) and written through to the store's
 * retained port. Each is charged to the memory budget with its topic and payload; expired
 * ones are removed on time by one timer over an expiry index, from memory and from the store.
 *
 * The broker's own `$SYS` messages are held in the same index (subscribers get them like any
 * retained message) but are not the clients' state: they count against no limit nor the
 * budget, are not written to the store (the broker publishes them afresh at start) and are
 * left out of {@link RetainedMessages.size}.
 */
import type { Clock } from '../ports/index.js';
import { ExpiryIndex } from './expiry-index.js';
import { MemoryBudget } from './memory-budget.js';
import type { Message } from './message.js';
import { detachPayload, isExpired } from './message.js';
import type { Persistence } from './persistence.js';
import { RetainedIndex } from './retained-index.js';
import { isSysTopic } from './sys-topic.js';

/** Why {@link RetainedMessages.set} refused a message. */
export type RetainRefusal = 'retained-limit' | 'retained-bytes' | 'memory-budget';

/** The limits retained messages are kept within. */
export interface RetainedLimits {
  /** `maxRetainedMessages`. */
  maxMessages: number;
  /** `maxRetainedBytes`: topics, payloads and overhead ({@link MemoryBudget.retainedCost}). */
  maxBytes: number;
}

/** The in-memory retained message set. */
export class RetainedMessages {
  private readonly index = new RetainedIndex<Message>();
  /** Told of each change by set() (a cluster's sync of a shared store). */
  private observer: ((topic: string) => void) | undefined;
  /** Sum of {@link MemoryBudget.retainedCost} of the messages held. */
  private heldBytes = 0;
  private readonly expiry: ExpiryIndex<string>;
  /** `$SYS` topics held (in the index, outside the limits and the count). */
  private sysHeld = 0;

  constructor(
    private readonly limits: RetainedLimits,
    private readonly budget: MemoryBudget,
    private readonly clock: Clock,
    private readonly persistence?: Persistence | undefined,
  ) {
    this.expiry = new ExpiryIndex(clock, (topic, now) => this.expireIfDue(topic, now));
  }

  /** Retained messages of clients and the host application (`$SYS` ones left out). */
  get size(): number {
    return this.index.size - this.sysHeld;
  }

  /** What the retained messages are charged: topics, payloads and overhead. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Retained messages that have an expiry (each has an entry in the expiry index). */
  get expiring(): number {
    return this.expiry.size;
  }

  /**
   * Puts back a message read from the store (not written again). False when it does not fit
   * the limits or the budget: the caller stops restoring there.
   */
  restore(message: Message): boolean {
    if (isSysTopic(message.topic)) {
      // Written by a client of an older Pipit that let clients publish there: $SYS is the
      // broker's own now, published afresh at start.
      this.persistence?.deleteRetained(message.topic);
      return true;
    }
    if (this.check(message) !== undefined) return false;
    this.hold(message, this.growth(message));
    return true;
  }

  /**
   * Stores, replaces [MQTT-3.3.1-5], or clears with an empty payload [MQTT-3.3.1-10]
   * [MQTT-3.3.1-11]. Returns true, or why the message was refused: a new topic past
   * `maxMessages`, a message that would take the total past `maxBytes`, or a memory budget
   * without room. A replacement refused for size removes the older message too: a stale
   * value is worse than none. Expired messages never count: they are swept before a refusal.
   */
  set(message: Message): true | RetainRefusal {
    if (isSysTopic(message.topic)) return this.setSys(message);
    let refusal = this.check(message);
    if (refusal !== undefined && this.expiry.sweep(this.clock.now()) > 0) {
      refusal = this.check(message);
    }
    const old = this.index.get(message.topic);
    if (message.payload.length === 0 || refusal !== undefined) {
      if (old !== undefined) this.remove(message.topic, old);
      this.observer?.(message.topic);
      return refusal ?? true;
    }
    this.hold(detachPayload(message), this.growth(message));
    this.persistence?.putRetained(message);
    this.observer?.(message.topic);
    return true;
  }

  /**
   * Calls `observer` with the topic of every change set() makes (a client's or the host's
   * retained message, or its clearing; not expiry, not `$SYS`), after it was written.
   */
  observe(observer: (topic: string) => void): void {
    this.observer = observer;
  }

  /**
   * Another node changed `topic` in the store the nodes share: holds `message` as read from
   * it, or drops the topic when it has none, without writing the store. A message past the
   * limits or the budget here drops the topic too (a stale value is worse than none).
   */
  applyShared(topic: string, message: Message | undefined): void {
    if (isSysTopic(topic)) return;
    const old = this.index.get(topic);
    if (message !== undefined && old?.id === message.id) return;
    if (message === undefined || message.topic !== topic || this.check(message) !== undefined) {
      if (old !== undefined) this.remove(topic, old, false);
      return;
    }
    this.hold(message, this.growth(message));
  }

  /** Live retained messages matching `filter`; expired ones are removed on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const found: Message[] = [];
    this.index.match(filter, found);
    let live = 0;
    for (const message of found) {
      if (isExpired(message, now)) this.remove(message.topic, message);
      else found[live++] = message;
    }
    found.length = live;
    return found;
  }

  /** Every retained message of clients and the host (for inspection; `$SYS` ones left out, as from `size`). */
  all(): Message[] {
    return this.index.values().filter((m) => !isSysTopic(m.topic));
  }

  /** Stops the expiry timer (the broker closes). */
  stop(): void {
    this.expiry.stop();
  }

  /** Holds (or clears) a `$SYS` message: no limit, no budget, no store. */
  private setSys(message: Message): true {
    const held = this.index.get(message.topic) !== undefined;
    if (message.payload.length === 0) {
      if (held) {
        this.index.delete(message.topic);
        this.sysHeld--;
      }
      return true;
    }
    if (!held) this.sysHeld++;
    this.index.set(detachPayload(message));
    return true;
  }

  /** Why `message` cannot be retained now, or undefined when it can (or clears). */
  private check(message: Message): RetainRefusal | undefined {
    if (message.payload.length === 0) return undefined;
    if (this.size >= this.limits.maxMessages && this.index.get(message.topic) === undefined) {
      return 'retained-limit';
    }
    const delta = this.growth(message);
    if (this.heldBytes + delta > this.limits.maxBytes) return 'retained-bytes';
    if (delta > 0 && !this.budget.fits(delta, true)) return 'memory-budget';
    return undefined;
  }

  /** How much more `message` costs than the message it would replace (its cost if none). */
  private growth(message: Message): number {
    const old = this.index.get(message.topic);
    const cost = MemoryBudget.retainedCost(message.topic, message.payload.length);
    return old === undefined
      ? cost
      : cost - MemoryBudget.retainedCost(old.topic, old.payload.length);
  }

  /** Puts `message` in the tree, charged `delta` more than what it replaces. */
  private hold(message: Message, delta: number): void {
    this.index.set(message);
    this.heldBytes += delta;
    this.budget.charge('retained', delta);
    if (message.expiresAt === undefined) this.expiry.delete(message.topic);
    else this.expiry.set(message.topic, message.expiresAt);
  }

  private remove(topic: string, old: Message, writeThrough = true): void {
    this.index.delete(topic);
    if (isSysTopic(topic)) {
      this.sysHeld--; // an expired $SYS message (the broker's own have no expiry)
      return;
    }
    const cost = MemoryBudget.retainedCost(old.topic, old.payload.length);
    this.heldBytes -= cost;
    this.budget.charge('retained', -cost);
    this.expiry.delete(topic);
    if (writeThrough) this.persistence?.deleteRetained(topic);
  }

  /** The expiry index says `topic`'s deadline passed: removed if its message has expired. */
  private expireIfDue(topic: string, now: number): void {
    const message = this.index.get(topic);
    if (message !== undefined && isExpired(message, now)) this.remove(topic, message);
  }
}
