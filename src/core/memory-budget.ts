/**
 * The broker's memory budget: one account of everything clients can make the broker hold
 * (retained messages with their topics, sessions, subscriptions, queued deliveries), with
 * one cap for all of it. Per-client limits cannot protect the process from many clients;
 * this does.
 *
 * What each thing is charged: its measured cost (process.memoryUsage of a core holding
 * 20,000 to 200,000 of them, see {@link COSTS}) plus the UTF-8 bytes of its strings (never
 * less than V8 holds them in) and its payload, so the account follows the real heap within a
 * small factor, on the safe side.
 *
 * Two tiers: state that outlives its connection (persistent sessions with their
 * subscriptions and queues, retained messages) may use {@link DURABLE_SHARE} of the budget;
 * the rest is kept for connected clients with clean sessions, so that a budget filled by
 * stored state (or by an attacker's persistent sessions) still lets new clients in.
 */

/** Measured costs of what the budget counts (bytes; strings and payloads are added). */
export const COSTS = {
  /**
   * A Session object, its map entry and timers' share: 270 B of heap measured for an idle
   * offline session (700 B of RSS with the heap's slack).
   */
  session: 512,
  /**
   * A Subscription object, its trie entry and its share of trie nodes: 210 B of heap when
   * the filter's nodes exist already, 330 B for a new 3-level filter (800-1000 B of RSS).
   */
  subscription: 512,
  /**
   * One in-memory queued delivery whose delivery object is shared by the sessions of one
   * publish (the router gives them one): its array slot and share, 17-21 B measured.
   */
  queuedEntry: 24,
  /**
   * Added for a queued delivery with an object of its own (subscription identifiers, a
   * shared subscription, a retained message): 136 B measured with one identifier.
   */
  queuedOwnDelivery: 112,
  /**
   * A retained message: the Message object, its topic-tree node (a Map entry in its
   * parent), the payload's Buffer object and slab share, and its expiry entry (~390 B of
   * heap measured with a 20-byte topic).
   */
  retained: 512,
} as const;

/** Share of the budget that state outliving its connection may use. */
export const DURABLE_SHARE = 7 / 8;

/** The budget's usage, also exposed as `metrics.memory` (gauges, bytes unless named). */
export interface MemoryUsage {
  /** `memoryBudget`: the cap of `usedBytes`. */
  limitBytes: number;
  /** Everything charged: the sum of the four categories below. */
  usedBytes: number;
  /** Retained messages: topic + payload + {@link COSTS.retained} each. */
  retainedBytes: number;
  /** Sessions: client id + {@link COSTS.session} each. */
  sessionBytes: number;
  /** Subscriptions: filter + {@link COSTS.subscription} each. */
  subscriptionBytes: number;
  /** In-memory queued deliveries: {@link queuedEntryCost} each + each message's payload once. */
  queuedBytes: number;
  /** Queued deliveries of every session, in memory and in the store (`maxQueuedMessagesTotal`). */
  queuedMessages: number;
}

/** Zeroed usage. */
export function emptyMemoryUsage(): MemoryUsage {
  return {
    limitBytes: 0,
    usedBytes: 0,
    retainedBytes: 0,
    sessionBytes: 0,
    subscriptionBytes: 0,
    queuedBytes: 0,
    queuedMessages: 0,
  };
}

/** A category of the budget. */
export type BudgetCategory = 'retained' | 'session' | 'subscription' | 'queued';

const FIELD = {
  retained: 'retainedBytes',
  session: 'sessionBytes',
  subscription: 'subscriptionBytes',
  queued: 'queuedBytes',
} as const;

/** The account; the core charges and releases, and asks before it takes something new. */
export class MemoryBudget {
  /** Cap for state that outlives its connection. */
  private readonly durableLimit: number;

  constructor(
    /** The whole budget in bytes. */
    readonly limit: number,
    /** Cap of queued deliveries, all sessions, memory and store together. */
    readonly maxQueuedMessages: number,
    /** Where the usage is kept (the metrics object shares it). */
    readonly usage: MemoryUsage = emptyMemoryUsage(),
  ) {
    usage.limitBytes = limit;
    this.durableLimit = Math.floor(limit * DURABLE_SHARE);
  }

  /**
   * True when `bytes` more fit: up to {@link DURABLE_SHARE} of the budget for state that
   * outlives its connection (`durable`), up to all of it otherwise.
   */
  fits(bytes: number, durable: boolean): boolean {
    return this.usage.usedBytes + bytes <= (durable ? this.durableLimit : this.limit);
  }

  /** True while fewer than `maxQueuedMessages` deliveries are queued. */
  get queueHasRoom(): boolean {
    return this.usage.queuedMessages < this.maxQueuedMessages;
  }

  /** Counts `bytes` (negative to release) in `category`. */
  charge(category: BudgetCategory, bytes: number): void {
    this.usage.usedBytes += bytes;
    this.usage[FIELD[category]] += bytes;
  }

  /** Counts queued deliveries (negative when they leave a queue). */
  countQueued(entries: number): void {
    this.usage.queuedMessages += entries;
  }

  /**
   * Counts `entries` in-memory queued deliveries costing `bytes` (both negative when they
   * leave): `charge('queued')` and `countQueued` in one step, for the queue's hot path.
   */
  chargeQueued(bytes: number, entries: number): void {
    const usage = this.usage;
    usage.usedBytes += bytes;
    usage.queuedBytes += bytes;
    usage.queuedMessages += entries;
  }

  /** The cost of a session with this client id. */
  static sessionCost(clientId: string): number {
    return COSTS.session + Buffer.byteLength(clientId);
  }

  /** The cost of a subscription to this filter. */
  static subscriptionCost(filter: string): number {
    return COSTS.subscription + Buffer.byteLength(filter);
  }

  /** The cost of a queued entry, its payload aside (see {@link COSTS.queuedOwnDelivery}). */
  static queuedEntryCost(delivery: {
    readonly subscriptionIds: readonly number[] | undefined;
    readonly shareFilter: string | undefined;
    readonly retain: boolean;
  }): number {
    return delivery.subscriptionIds === undefined &&
      delivery.shareFilter === undefined &&
      !delivery.retain
      ? COSTS.queuedEntry
      : COSTS.queuedEntry + COSTS.queuedOwnDelivery;
  }

  /** The cost of a retained message (its topic and payload included). */
  static retainedCost(topic: string, payloadLength: number): number {
    return COSTS.retained + Buffer.byteLength(topic) + payloadLength;
  }
}
