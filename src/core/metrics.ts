/**
 * Counters the core keeps. Plain numbers on one object: cheap on the hot path, read by
 * $SYS, the Prometheus exporter and tests.
 */
import { emptyMemoryUsage, type MemoryUsage } from './memory-budget.js';

/** Why a message was not delivered to a subscriber. */
export type DropReason =
  | 'queue-full'
  | 'socket-congested'
  | 'expired'
  | 'packet-too-large'
  | 'offline-qos0'
  | 'retained-limit'
  /** Not retained: `maxRetainedBytes` would be exceeded. */
  | 'retained-bytes'
  /** QoS 0 publish over the publisher's `maxPublishRate`. */
  | 'rate-limited'
  | 'hook'
  /** A retained message not sent on subscribe: its publisher may no longer publish it (`checkRetainSource`). */
  | 'retained-source'
  /**
   * A retained message for a new subscription not sent: over the session's retained backlog
   * (`maxRetainedMessages` waiting), or superseded by a newer message on its topic queued
   * behind it when the client left before it went out.
   */
  | 'retained-backlog'
  /** Not queued or not retained: the memory budget (`memoryBudget`) has no room. */
  | 'memory-budget'
  /** Not queued: `maxQueuedMessagesTotal` deliveries are queued already. */
  | 'queued-total';

/** Which limit or rule refused something (see limits.ts and rate-limit.ts). */
export type RefusalKind =
  /** A socket closed at once: `maxConnections` (all listeners) reached. */
  | 'connections'
  /** A socket closed at once: the listener's own `maxConnections` reached. */
  | 'listener-connections'
  /** A topic name, will topic or filter longer than `maxTopicLength` bytes. */
  | 'topic-length'
  /** A topic name, will topic or filter with more than `maxTopicLevels` levels. */
  | 'topic-levels'
  /** A retained message refused by `maxRetainedBytes`. */
  | 'retained-bytes'
  /** A publish over `maxPublishRate`: QoS 0 dropped, MQTT 5 QoS 1/2 answered 0x97. */
  | 'publish-rate'
  /** An MQTT 3.x QoS 1/2 publish over `maxPublishRate`, delayed. */
  | 'publish-throttled'
  /** A CONNECT refused: its client id's session belongs to another user (`bindClientIdToUser`). */
  | 'client-id-owner'
  /** A retained message not served: its publisher may no longer publish it (`checkRetainSource`). */
  | 'retained-source'
  /** A connection closed: output over `maxSocketBufferBytes`, none taken for `outputStallTimeoutMs`. */
  | 'output-stalled'
  /** Retained messages for a new subscription not sent: the session's retained backlog is full. */
  | 'retained-backlog'
  /** A socket closed at once: its source address has `maxConnectionsPerAddress` open. */
  | 'address-connections'
  /** A TLS handshake or WebSocket upgrade not done within `connectTimeoutMs`: closed. */
  | 'handshake-timeout'
  /** A WebSocket upgrade from a browser page of another origin: HTTP 403. */
  | 'ws-origin'
  /** A login refused without checking: its address failed too often (backing off). */
  | 'login-throttled'
  /** A login refused without checking: too many logins wait for a password hash. */
  | 'login-busy'
  /** A new session refused: the memory budget is full (CONNACK 0x97 / v3 0x03). */
  | 'budget-session'
  /** A new subscription refused: the memory budget is full (SUBACK 0x97 / v3 0x80). */
  | 'budget-subscription'
  /** A delivery not queued: the memory budget is full. */
  | 'budget-queued'
  /** A retained message not kept: the memory budget is full. */
  | 'budget-retained'
  /** A delivery not queued: `maxQueuedMessagesTotal` reached. */
  | 'queued-total'
  /** A CONNECT (or re-authentication) refused by authentication: bad password, unknown user, ... */
  | 'auth-failed'
  /** A client's PUBLISH not authorized (hooks, ACL), or aimed at the read-only `$SYS` tree. */
  | 'publish-denied'
  /** A SUBSCRIBE filter not authorized (hooks, ACL). */
  | 'subscribe-denied'
  /** A TLS handshake that failed (bad certificate, no shared cipher or version, ...). */
  | 'tls-handshake'
  /** An HTTP socket closed at once: the HTTP listener's `maxConnections` are open. */
  | 'http-connections'
  /** An HTTP socket closed at once: its address has the listener's `maxConnectionsPerAddress` open. */
  | 'http-address-connections'
  /** An HTTP request (or an idle HTTP connection) not sent in time: 408, closed. */
  | 'http-timeout'
  /** An HTTP request whose headers exceed the listener's `maxHeaderSize`: 431, closed. */
  | 'http-header-size';

/** The broker's counters. */
export interface CoreMetrics {
  connectionsAccepted: number;
  connectionsRejected: number;
  connectionsCurrent: number;
  packetsReceived: number;
  packetsSent: number;
  bytesReceived: number;
  bytesSent: number;
  messagesReceived: number;
  messagesSent: number;
  /** Drops by reason; every message the broker declines to deliver is counted here. */
  dropped: Record<DropReason, number>;
  /** Limit hits by kind; each is also logged (throttled). */
  refused: Record<RefusalKind, number>;
  protocolErrors: number;
  /** Times a connection's output went over `maxSocketBufferBytes` and its reading was held. */
  outputHolds: number;
  /** The memory budget's usage (gauges; see memory-budget.ts). */
  memory: MemoryUsage;
  /** Messages received by their QoS (index 0, 1, 2); they add up to `messagesReceived`. */
  messagesReceivedByQos: [number, number, number];
  /** Messages sent by the QoS they went out with (index 0, 1, 2); they add up to `messagesSent`. */
  messagesSentByQos: [number, number, number];
  /**
   * Logins refused by authentication: an anonymous client where anonymous clients are not
   * allowed, credentials an authenticate hook denied, a failed re-authentication.
   */
  authFailures: number;
  /** Connections that completed CONNECT (CONNACK 0x00 sent), since start. */
  connectionsEstablished: number;
  /** The most clients connected at once since start (a peak of `connectionsCurrent`). */
  connectionsMaximum: number;
  /** Sessions ended by their expiry while their client was away, since start. */
  sessionsExpired: number;
  /** Payload bytes of the PUBLISH packets counted in `messagesReceived` (Mosquitto's publish/bytes). */
  publishBytesReceived: number;
  /** Payload bytes of the PUBLISH packets counted in `messagesSent`. */
  publishBytesSent: number;
}

/** Fresh zeroed counters. */
export function createCoreMetrics(): CoreMetrics {
  return {
    connectionsAccepted: 0,
    connectionsRejected: 0,
    connectionsCurrent: 0,
    packetsReceived: 0,
    packetsSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    messagesReceived: 0,
    messagesSent: 0,
    dropped: {
      'queue-full': 0,
      'socket-congested': 0,
      expired: 0,
      'packet-too-large': 0,
      'offline-qos0': 0,
      'retained-limit': 0,
      'retained-bytes': 0,
      'rate-limited': 0,
      hook: 0,
      'retained-source': 0,
      'retained-backlog': 0,
      'memory-budget': 0,
      'queued-total': 0,
    },
    refused: {
      connections: 0,
      'listener-connections': 0,
      'topic-length': 0,
      'topic-levels': 0,
      'retained-bytes': 0,
      'publish-rate': 0,
      'publish-throttled': 0,
      'client-id-owner': 0,
      'retained-source': 0,
      'output-stalled': 0,
      'retained-backlog': 0,
      'address-connections': 0,
      'handshake-timeout': 0,
      'ws-origin': 0,
      'login-throttled': 0,
      'login-busy': 0,
      'budget-session': 0,
      'budget-subscription': 0,
      'budget-queued': 0,
      'budget-retained': 0,
      'queued-total': 0,
      'auth-failed': 0,
      'publish-denied': 0,
      'subscribe-denied': 0,
      'tls-handshake': 0,
      'http-connections': 0,
      'http-address-connections': 0,
      'http-timeout': 0,
      'http-header-size': 0,
    },
    protocolErrors: 0,
    outputHolds: 0,
    memory: emptyMemoryUsage(),
    messagesReceivedByQos: [0, 0, 0],
    messagesSentByQos: [0, 0, 0],
    authFailures: 0,
    connectionsEstablished: 0,
    connectionsMaximum: 0,
    sessionsExpired: 0,
    publishBytesReceived: 0,
    publishBytesSent: 0,
  };
}
