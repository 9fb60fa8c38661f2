/**
 * What the read and command API takes and returns. Every result is a plain object of
 * strings, numbers, booleans, null and arrays, so that it can be sent as JSON as it is (the
 * admin HTTP API returns these objects unchanged). Times are milliseconds since the epoch on
 * the broker's clock; absent values are null.
 */
import type { CoreMetrics } from '../core/index.js';
import type { ProtocolVersion, QoS } from '../protocol/index.js';

/** Where a page starts and how long it is. */
export interface PageRequest {
  /** The `nextCursor` of the previous page; omitted for the first page. */
  cursor?: string | undefined;
  /** Items per page: 1 to {@link MAX_PAGE_SIZE}, default {@link DEFAULT_PAGE_SIZE}. */
  limit?: number | undefined;
}

/** Items per page when the request does not say. */
export const DEFAULT_PAGE_SIZE = 100;
/** The most items one page holds. */
export const MAX_PAGE_SIZE = 1000;

/**
 * One page of a list, in a stable order (client id, then filter; topic for retained messages).
 * Items added or removed while paging do not make the others appear twice or go missing.
 */
export interface Page<T> {
  items: T[];
  /** Opaque; pass it as `cursor` for the next page. Null on the last page. */
  nextCursor: string | null;
}

/** Which connected clients to list. Filters combine (all must hold). */
export interface ClientQuery extends PageRequest {
  /** Client ids starting with this. */
  clientIdPrefix?: string | undefined;
  /** This username exactly (as the client gave it, or as an authenticate hook replaced it). */
  username?: string | undefined;
  /** This remote address exactly, as the socket reports it (e.g. `127.0.0.1`, `::1`). */
  address?: string | undefined;
  /** Clients of this listener ('tcp', 'tls', 'ws', 'wss' or a configured name). */
  listener?: string | undefined;
}

/** A connected client. */
export interface ClientSummary {
  clientId: string;
  username: string | null;
  /** Whether an authenticate hook vouched for the username (see ClientInfo.usernameVerified). */
  usernameVerified: boolean;
  /** Remote address of the socket; null when the transport does not know it. */
  address: string | null;
  listener: string;
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5. */
  protocolVersion: ProtocolVersion;
  /** When the broker accepted the connection (sent CONNACK 0x00). */
  connectedAt: number;
  /** Keep alive in seconds as in force (the Server Keep Alive when the broker set one); 0: none. */
  keepAlive: number;
  /**
   * The session's expiry interval in seconds: 0, the session ends with the connection;
   * 4294967295, never. MQTT 3.x Clean Session 0 sessions get `v3SessionExpiry`.
   */
  sessionExpiryInterval: number;
}

/** A connected client with its session's state. */
export interface ClientDetails extends ClientSummary {
  /** Identity from a verified TLS client certificate. */
  certificateIdentity: string | null;
  /** Its subscriptions, by filter. */
  subscriptions: SubscriptionInfo[];
  /** QoS 1/2 messages sent and not yet acknowledged. */
  inflight: number;
  /** Messages waiting in the session's queue (in memory or in the store). */
  queuedMessages: number;
  /** Payload bytes of the queued messages. */
  queuedBytes: number;
  /** Retained messages of new subscriptions not yet sent. */
  retainedBacklog: number;
  /** Bytes written to the socket and not yet taken by the client. */
  outputBufferedBytes: number;
  /** The client's Receive Maximum (MQTT 5; 65535 for 3.x). */
  receiveMaximum: number;
  /** The last time the broker read from the client. */
  lastActivity: number;
  /** The will the broker holds for this connection, if any. */
  will: WillInfo | null;
}

/** A will, without its payload. */
export interface WillInfo {
  topic: string;
  qos: QoS;
  retain: boolean;
  payloadBytes: number;
  /** Will Delay Interval in seconds (MQTT 5); 0: sent at once. */
  delayInterval: number;
}

/** Which sessions to list. */
export interface SessionQuery extends PageRequest {
  clientIdPrefix?: string | undefined;
  /** Only sessions whose client is connected (true) or away (false). */
  connected?: boolean | undefined;
}

/** A session: the state of one client id, connected or not. */
export interface SessionSummary {
  clientId: string;
  connected: boolean;
  /**
   * Who the session belongs to: the verified username of its creator, or null for an
   * anonymous one; the whole field is null while it is not bound yet.
   */
  owner: { username: string | null } | null;
  /** Seconds; see {@link ClientSummary.sessionExpiryInterval}. */
  expiryInterval: number;
  /** Whether the session is written to the broker's store (it outlives a restart). */
  stored: boolean;
  subscriptions: number;
  inflight: number;
  queuedMessages: number;
  queuedBytes: number;
}

/** Which subscriptions to list. */
export interface SubscriptionQuery extends PageRequest {
  /** Only this client's. */
  clientId?: string | undefined;
  /** Only this filter, exactly as subscribed (`$share/group/...` included). */
  filter?: string | undefined;
}

/** One subscription of one session. */
export interface SubscriptionInfo {
  clientId: string;
  /** The filter exactly as subscribed. */
  filter: string;
  /** Granted QoS. */
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier. */
  subscriptionId: number | null;
  /** Group name of a shared subscription. */
  shareGroup: string | null;
}

/** Which retained messages to list. */
export interface RetainedQuery extends PageRequest {
  /**
   * A topic filter; default `#` (which, as for subscribers, does not match topics starting
   * with `$` [MQTT-4.7.2-1]: ask for `$SYS/#` and the like separately).
   */
  filter?: string | undefined;
}

/** A retained message. */
export interface RetainedMessageInfo {
  topic: string;
  qos: QoS;
  /** Payload size in bytes. */
  payloadBytes: number;
  /**
   * The payload in base64: whole from `retainedMessage(topic)`, at most the first
   * {@link PAYLOAD_PREVIEW_BYTES} bytes in lists (`payloadTruncated` says which).
   */
  payloadBase64: string;
  payloadTruncated: boolean;
  /** MQTT 5 Payload Format Indicator 1: the payload is UTF-8 text. */
  payloadIsUtf8: boolean;
  contentType: string | null;
  responseTopic: string | null;
  userProperties: [string, string][];
  /** When it expires (Message Expiry Interval); null: never. */
  expiresAt: number | null;
  /** Client id of the publisher; null when the host application published it. */
  publisherClientId: string | null;
}

/** Payload bytes included with each retained message of a list. */
export const PAYLOAD_PREVIEW_BYTES = 256;

/**
 * The broker's counters at one moment: every counter of `broker.core.metrics` (drops and
 * refusals by reason, memory budget usage) plus the sizes of what it holds.
 */
export interface BrokerCounters extends CoreMetrics {
  /**
   * Network connections open, also those that have not completed CONNECT yet
   * (`connectionsCurrent` counts the connected clients only).
   */
  connectionsOpen: number;
  /** Sessions held, connected or not. */
  sessions: number;
  /** Subscriptions of every session, shared ones included. */
  subscriptions: number;
  /** Shared subscriptions (`$share/...`): one per member of each group. */
  sharedSubscriptions: number;
  /** Retained messages held. */
  retainedMessages: number;
}
