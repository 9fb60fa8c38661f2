/**
 * The records the store ports read and write: messages, deliveries, subscriptions, inflight
 * entries, wills and sessions in their stored form. Plain data, no behaviour: every store
 * (memory, SQLite, later Redis) returns the same shapes, with optional fields absent rather
 * than undefined.
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
  /** Unique and increasing across restarts (the core continues above the highest id loaded). */
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
  /**
   * Whether the node the client was connected to allows the will (core `WillVerdict`): a
   * cluster node that sends it without a rule for `listener` follows it. Undefined when none
   * was recorded (one node, or a will stored by an older Pipit).
   */
  verdict?: 'allow' | 'deny' | undefined;
}

/**
 * Who a session belongs to: the verified username of the client that made it, or null for
 * a client without one (anonymous). Another identity may not take the session over.
 */
export interface SessionOwner {
  readonly username: string | null;
}

/** A persistent session's own record, as the session port keeps it. */
export interface StoredSessionRecord {
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
  /** Inbound QoS 2 packet ids received and not yet released by PUBREL. */
  inboundQos2: number[];
}

/** What the message port holds for one client: its inflight entries and a summary of its queue. */
export interface StoredQueueState {
  /** In send order. */
  inflight: StoredInflight[];
  /** Number of queued deliveries (the entries themselves are paged with `readQueue`). */
  queuedCount: number;
  /** Payload bytes of the queued deliveries. */
  queuedBytes: number;
  /**
   * Highest seq of the client's queue (0 when it is empty): the owner of the session numbers
   * new entries above it.
   */
  lastSeq: number;
}

/** A persistent session as the core restores it: its record with its queue state. */
export interface StoredSession extends StoredSessionRecord, StoredQueueState {}

/** A queued delivery with its position. */
export interface QueuedEntry {
  /** Increasing position within the session's queue. */
  seq: number;
  delivery: StoredDelivery;
}

/** A page of a queue: its entries in order, with the messages they reference. */
export interface QueuePage {
  entries: QueuedEntry[];
  messages: Map<number, StoredMessage>;
}

/**
 * The condition a write of one client's session applies under, in a store that nodes share:
 * the key `key` of the store's database holds `value` when the write runs, checked in the
 * same atomic step as the write (a cluster node's owner key naming that node: the write lands
 * only while the node still owns the client, never over the session another node took since).
 * A store only one node writes (memory, SQLite) has no such key and applies the write; the
 * Redis store leaves the write out when the key does not hold `value`, or when it cannot
 * reach the key in the write's atomic step (another hash slot of a Redis Cluster).
 */
export interface WriteFence {
  readonly key: string;
  readonly value: string;
}
