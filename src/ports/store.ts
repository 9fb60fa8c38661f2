/**
 * The store the broker persists to: the three store ports in one (a store may implement all
 * of them over one database, as the memory and SQLite stores do). Nothing the broker
 * acknowledged is lost. Every implementation passes the contract suite in test/contracts/,
 * one section per port.
 */
import type { MessageStore } from './message-store.js';
import type { RetainedStore } from './retained-store.js';
import type { SessionStore } from './session-store.js';
import type { StoreCursors } from './store-cursors.js';
import type { StoredMessage, StoredSession, StoredWill } from './store-records.js';

export type { LoadedQueue, LoadedQueues, MessageStore } from './message-store.js';
export type { RetainedLoad, RetainedStore } from './retained-store.js';
export type { SessionStore } from './session-store.js';
export type { StoreCursors } from './store-cursors.js';
export type { CommitObserver, Durability, StorePort } from './store-port.js';
export type * from './store-records.js';

/** Everything read at start but the retained messages (see `loadRetained`). */
export interface LoadedState {
  /** Every session with its queue state. */
  sessions: StoredSession[];
  /** Messages referenced by inflight entries (queued ones are read with `readQueue`). */
  messages: Map<number, StoredMessage>;
  wills: Map<string, StoredWill>;
  /** Highest message id ever stored (0 if none). */
  lastMessageId: number;
}

/** Sessions, messages with their queues, and retained messages, in one store. */
export interface BrokerStore extends SessionStore, MessageStore, RetainedStore {
  /**
   * Reads every session with its queue state, the wills and the last message id: the
   * session and message ports' start-up reads in one (src/storage/shared/load-state.ts).
   */
  load(): Promise<LoadedState>;
  /**
   * Positions committed with the store's batches, for a store that nodes of a cluster share
   * (the Redis store); undefined where no other node could read them (memory, SQLite).
   */
  readonly cursors?: StoreCursors;
}
