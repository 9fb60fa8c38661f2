/**
 * The storage port: what the broker persists so that nothing it acknowledged is lost.
 *
 * Mutations are synchronous calls that add to the current batch; `commit()` resolves once
 * every mutation made before it is durable (group commit: all writes of a short window go
 * in one transaction). The core sends PUBACK/PUBREC/SUBACK for persistent state only after
 * that promise resolves. Reads happen at start (`load`, `loadRetained`) and when a session's
 * queue is paged in (`readQueue`). Reads see every mutation made before them, committed or not
 * (read-your-writes). Every implementation (memory, SQLite, later Redis) passes the same
 * contract suite in test/contracts/.
 */
import type { Properties, QoS, Will } from '../protocol/index.js';

/**
 * Who published a message, as far as authorization needs it again (a retained message is
 * re-checked against its publisher's rights when it is served). The client id is the
 * message's `origin`.
 */
export interface StoredPublisher {
  /** The listener the publisher came through. */
  listener: string;
  /** Its verified username; absent for an anonymous publisher. */
  username?: string | undefined;
}

/** A message as stored: written once, referenced by every queue/inflight entry that carries it. */
export interface StoredMessage {
  /** Unique and increasing across restarts (the core continues from `LoadedState.lastMessageId`). */
  id: number;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Forwarded properties (never topicAlias, subscriptionIdentifiers or messageExpiryInterval). */
  properties?: Properties | undefined;
  /** Absolute expiry, ms since the epoch. */
  expiresAt?: number | undefined;
  /** Publisher client id. */
  origin?: string | undefined;
  /**
   * Who published it (the broker writes it with retained messages). Absent: unknown (the
   * host application, or a message stored before publishers were recorded).
   */
  publisher?: StoredPublisher | undefined;
}

/** The per-subscriber part of a queued or inflight message. */
export interface StoredDelivery {
  messageId: number;
  qos: QoS;
  retain: boolean;
  subscriptionIds?: number[] | undefined;
  shareFilter?: string | undefined;
}

/** A subscription with its options. */
export interface StoredSubscription {
  filter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId?: number | undefined;
}

/** An outbound QoS 1/2 message sent and not yet completed. */
export interface StoredInflight {
  packetId: number;
  state: 'publish' | 'pubrel';
  delivery: StoredDelivery;
}

/** A will to publish if the client does not come back (or at `dueAt` if set). */
export interface StoredWill {
  will: Will;
  username?: string | undefined;
  /** Listener the client came through (hooks authorize the will as from that listener). */
  listener?: string | undefined;
  /**
   * Absolute time the will falls due. Undefined while its client is connected: after a crash
   * such a will is due at once (the connection was lost without DISCONNECT).
   */
  dueAt?: number | undefined;
}

/**
 * Who a session belongs to: the verified username of the client that made it, or null for
 * a client without one (anonymous). Another identity may not take the session over.
 */
export interface SessionOwner {
  readonly username: string | null;
}

/** A persistent session as stored. */
export interface StoredSession {
  clientId: string;
  /** Its owner; absent when the session is not bound (stored before owners were recorded). */
  owner?: SessionOwner | undefined;
  /** Session Expiry Interval in seconds. */
  expiryInterval: number;
  /**
   * Absolute time the session expires (ms), set when its connection ends. Undefined while
   * connected: after a crash the session is taken as disconnected at load time.
   */
  expiresAt?: number | undefined;
  subscriptions: StoredSubscription[];
  /** In send order. */
  inflight: StoredInflight[];
  /** Inbound QoS 2 packet ids received and not yet released by PUBREL. */
  inboundQos2: number[];
  /** Number of queued deliveries (the entries themselves are paged with `readQueue`). */
  queuedCount: number;
  /** Payload bytes of the queued deliveries. */
  queuedBytes: number;
}

/** A queued delivery with its position. */
export interface QueuedEntry {
  /** Increasing position within the session's queue. */
  seq: number;
  delivery: StoredDelivery;
}

/** Everything read at start but the retained messages (see `loadRetained`). */
export interface LoadedState {
  sessions: StoredSession[];
  /** Messages referenced by inflight entries (queued ones are read with `readQueue`). */
  messages: Map<number, StoredMessage>;
  wills: Map<string, StoredWill>;
  /** Highest message id ever stored (0 if none). */
  lastMessageId: number;
}

/** What {@link BrokerStore.loadRetained} did. */
export interface RetainedLoad {
  /** Messages offered to `accept` and accepted. */
  restored: number;
  /** Messages expired at `now`: deleted without being offered. */
  expired: number;
  /** Messages deleted because `accept` refused them (the first refused one and every later one). */
  dropped: number;
}

/** The storage port. */
export interface BrokerStore {
  /** Short name for logs ('memory', 'sqlite'). */
  readonly kind: string;
  /** Opens (creating or migrating) the store; a clear error names the file and what to do. */
  open(): Promise<void>;
  /** Reads every persistent session and will (retained messages: `loadRetained`). */
  load(): Promise<LoadedState>;
  /**
   * Reads the retained messages one at a time in topic order (never all at once: a store may
   * hold more than the broker's memory), deleting in the current batch those expired at `now`.
   * Every other one is offered to `accept`; from the first one it refuses, that one and every
   * later one are deleted, so that a store holding more than the broker's budget (written by
   * an older version, or under a larger budget) starts within the budget.
   */
  loadRetained(now: number, accept: (message: StoredMessage) => boolean): Promise<RetainedLoad>;

  /** Stores a message once (idempotent by id). Call before any entry that references it. */
  putMessage(message: StoredMessage): void;

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void;
  /**
   * Records the owner of the session `clientId` (put before); later `putSession` calls keep
   * it. No effect when there is no session record.
   */
  setSessionOwner(clientId: string, owner: SessionOwner): void;
  /** Removes the session with its subscriptions, queue, inflight, inbound ids and will. */
  deleteSession(clientId: string): void;
  putSubscription(clientId: string, subscription: StoredSubscription): void;
  deleteSubscription(clientId: string, filter: string): void;

  /** Appends a delivery to the session's queue; returns its seq (increasing per session, also across restarts). */
  enqueue(clientId: string, delivery: StoredDelivery): number;
  /** Up to `limit` queued entries with seq > `afterSeq`, in order, with their messages. */
  readQueue(
    clientId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ entries: QueuedEntry[]; messages: Map<number, StoredMessage> }>;
  /** Removes queued entries with seq <= `uptoSeq`. */
  dequeue(clientId: string, uptoSeq: number): void;

  putInflight(clientId: string, inflight: StoredInflight): void;
  deleteInflight(clientId: string, packetId: number): void;
  addInboundQos2(clientId: string, packetId: number): void;
  deleteInboundQos2(clientId: string, packetId: number): void;

  putWill(clientId: string, will: StoredWill): void;
  deleteWill(clientId: string): void;

  putRetained(message: StoredMessage): void;
  deleteRetained(topic: string): void;

  /** Resolves when every mutation made before the call is durable (per the durability mode). */
  commit(): Promise<void>;
  /** True while the last commit failed for lack of space (the broker refuses new QoS 1/2 work). */
  readonly full: boolean;
  /** Commits what is pending and closes. */
  close(): Promise<void>;
}

/** How hard a commit tries before the broker acknowledges. */
export type Durability = 'fsync' | 'batched' | 'none';
