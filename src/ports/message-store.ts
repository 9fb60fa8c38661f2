/**
 * The message port: messages, and the per-client entries that reference them (the queue and
 * the inflight window). A message is stored once however many entries carry it and is
 * collected once none does, so everything that references messages lives behind this port.
 *
 * Queue positions (`seq`) are given by the session's owner, not by the store: the owner
 * continues above `StoredQueueState.lastSeq` as loaded. A store never has to answer a write
 * synchronously, so one in another process (Redis) can batch its writes like SQLite does.
 */
import type { StorePort } from './store-port.js';
import type {
  QueuePage,
  StoredDelivery,
  StoredInflight,
  StoredMessage,
  StoredQueueState,
  WriteFence,
} from './store-records.js';

/** What {@link MessageStore.loadQueues} reads at start. */
export interface LoadedQueues {
  /** Queue state by client id, for every client that has queued or inflight entries. */
  queues: Map<string, StoredQueueState>;
  /** Messages referenced by inflight entries (queued ones are read with `readQueue`). */
  messages: Map<number, StoredMessage>;
  /** Highest message id ever stored, retained messages of the same store included (0 if none). */
  lastMessageId: number;
}

/** One client's queue state with the messages its inflight entries reference. */
export interface LoadedQueue {
  state: StoredQueueState;
  messages: Map<number, StoredMessage>;
}

/** Messages, queues and inflight entries. */
export interface MessageStore extends StorePort {
  /** Stores a message once (idempotent by id). Call before any entry that references it. */
  putMessage(message: StoredMessage): void;

  /**
   * Appends a delivery to the client's queue at position `seq`, which must be above every
   * seq the queue holds (the session's owner numbers its entries); or puts one back at a
   * lower `seq` the queue does not hold: an entry whose batch failed, written again before
   * its session leaves the node (StoredQueue.storeHeld), in its place by seq.
   */
  enqueue(clientId: string, seq: number, delivery: StoredDelivery): void;
  /** Up to `limit` queued entries with seq > `afterSeq`, in order, with their messages. */
  readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuePage>;
  /** Removes queued entries with seq <= `uptoSeq`. */
  dequeue(clientId: string, uptoSeq: number): void;
  /**
   * Removes the queued entry at `seq` only (nothing when the queue holds none there): an entry
   * taken out of order (a shared delivery given to another member, StoredQueue.takeShared)
   * while entries below it stay queued, which `dequeue` would remove with it.
   */
  removeQueued(clientId: string, seq: number): void;

  putInflight(clientId: string, inflight: StoredInflight): void;
  deleteInflight(clientId: string, packetId: number): void;

  /**
   * Removes the client's queue and inflight entries (its session ended); with `fence`, only
   * while the fence holds (WriteFence, as `SessionStore.deleteSession`).
   */
  deleteQueue(clientId: string, fence?: WriteFence): void;

  /** Every client's queue state, the messages inflight entries reference, the last message id. */
  loadQueues(): Promise<LoadedQueues>;
  /** One client's queue state (empty when it has none). */
  loadQueue(clientId: string): Promise<LoadedQueue>;
}
