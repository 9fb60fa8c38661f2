/**
 * The retained port: one retained message per topic, found by topic filter. The broker keeps
 * the retained messages it serves in memory (src/core/retained-index.ts, fast for
 * retained-on-subscribe) and writes them through to this port, which a durable or shared
 * store implements (SQLite, later Redis): `loadRetained` streams them back at start, and
 * `matchRetained` answers a filter from the store itself (a node reading what another wrote).
 */
import type { StorePort } from './store-port.js';
import type { StoredMessage } from './store-records.js';

/** What {@link RetainedStore.loadRetained} did. */
export interface RetainedLoad {
  /** Messages offered to `accept` and accepted. */
  restored: number;
  /** Messages expired at `now`: deleted without being offered. */
  expired: number;
  /** Messages deleted because `accept` refused them (the first refused one and every later one). */
  dropped: number;
}

/** Retained messages by topic. */
export interface RetainedStore extends StorePort {
  /** Stores `message` as the retained message of its topic, replacing any earlier one. */
  putRetained(message: StoredMessage): void;
  deleteRetained(topic: string): void;
  /**
   * The live retained messages whose topic matches `filter` (MQTT wildcards; a filter that
   * starts with a wildcard matches no topic starting with '$'), in topic order. Those expired
   * at `now` are not returned and are deleted in the current batch.
   */
  matchRetained(filter: string, now: number): Promise<StoredMessage[]>;
  /**
   * Reads the retained messages one at a time in topic order (never all at once: a store may
   * hold more than the broker's memory), deleting in the current batch those expired at `now`.
   * Every other one is offered to `accept`; from the first one it refuses, that one and every
   * later one are deleted, so that a store holding more than the broker's budget (written by
   * an older version, or under a larger budget) starts within the budget.
   */
  loadRetained(now: number, accept: (message: StoredMessage) => boolean): Promise<RetainedLoad>;
}
