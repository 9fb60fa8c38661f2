/**
 * The broker core's settings: limits with documented defaults. Every limit has a visible
 * policy (what happens when it is reached) and a counter for every drop.
 */

/** Limits and protocol settings of the broker core. */
export interface CoreOptions {
  /** Largest packet accepted from a client, fixed header included (bytes). Default 1 MiB. */
  maximumPacketSize: number;
  /** Receive Maximum: QoS 1/2 publishes a client may have unacknowledged towards us. Default 100. */
  receiveMaximum: number;
  /** Outbound inflight window per session (QoS 1/2 sent, not yet acknowledged); the client's
   *  Receive Maximum lowers it further. Default 100. */
  maxInflight: number;
  /** Queued messages per session beyond the inflight window; newer messages are dropped and
   *  counted when full. Default 10000. */
  maxQueuedMessages: number;
  /** Queued payload bytes per session; same policy. Default 64 MiB. */
  maxQueuedBytes: number;
  /** Queue QoS 0 messages for offline persistent sessions (Mosquitto's queue_qos0_messages). Default false. */
  queueQos0Offline: boolean;
  /** Bytes written to a client's socket and not yet flushed (output backpressure): beyond it,
   *  QoS 0 messages to the client are dropped (and counted), QoS 1/2 messages and retained
   *  messages wait in its session, and the connection is not read until the socket has
   *  taken its bytes. Default 4 MiB. */
  maxSocketBufferBytes: number;
  /** Topic Alias Maximum we accept from clients. Default 64. */
  topicAliasMaximum: number;
  /** Upper bound for Session Expiry Interval in seconds; higher requests are lowered and the
   *  CONNACK says so. Default 0xFFFFFFFF (no cap). MQTT 3.x persistent sessions use this too. */
  maxSessionExpiry: number;
  /** Upper bound for Keep Alive in seconds (v5: Server Keep Alive; v3: connection refused). 0 = no cap. Default 0. */
  maxKeepAlive: number;
  /** Time a new connection has to send CONNECT (ms). Default 10000. */
  connectTimeoutMs: number;
  /** Highest QoS granted to subscriptions and accepted from publishers. Default 2. */
  maximumQoS: 0 | 1 | 2;
  /** Retained messages supported. Default true. */
  retainAvailable: boolean;
  /** Maximum number of retained messages; new topics are refused (and counted) past it. Default 100000. */
  maxRetainedMessages: number;
  /**
   * Total size of the retained messages: topic + payload + 512 B of overhead each (what they
   * cost in memory). A new retained topic that would pass it is refused; a replacement that
   * would pass it is refused and the older message on that topic is removed (a stale value is
   * worse than none). Counted in `dropped['retained-bytes']` and `refused['retained-bytes']`.
   * Default 256 MiB.
   */
  maxRetainedBytes: number;
  /**
   * Open sockets on all listeners together (TLS handshakes and WebSocket upgrades included);
   * a socket over the cap is closed at once, before a byte is read. 0 = no cap. Default 50000.
   */
  maxConnections: number;
  /**
   * Longest topic name, will topic or topic filter in UTF-8 bytes. A longer PUBLISH topic:
   * v5 DISCONNECT 0x90 / v3 close; a longer will topic: CONNACK 0x90 (v3 0x03); a longer
   * filter: SUBACK 0x8F (v3 0x80). Default 65535 (the protocol's own maximum).
   */
  maxTopicLength: number;
  /** Most levels (`/`-separated) in a topic name, will topic or filter; same answers. Default 128. */
  maxTopicLevels: number;
  /**
   * PUBLISH packets per second per connection (token bucket holding one second's worth).
   * Over it: QoS 0 dropped; v5 QoS 1/2 PUBACK/PUBREC 0x97 Quota exceeded; v3 QoS 1/2 delayed (reading
   * paused). 0 = no limit. Default 0.
   */
  maxPublishRate: number;
  /** Subscriptions per client; more are refused with 0x97 Quota exceeded. Default 1000. */
  maxSubscriptionsPerClient: number;
  /** Allow clients without an authenticate hook's verdict (only used when no authenticate hook exists). Default true. */
  allowAnonymous: boolean;
  /** Response Information returned when a v5 client asks for it; `undefined` = not offered. */
  responseInformation: ((clientId: string) => string) | undefined;
  /**
   * Send every client elsewhere (maintenance, migration): MQTT 5 clients get CONNACK 0x9C Use
   * another server (0x9D Server moved when `permanent`) with this Server Reference; MQTT 3.x
   * clients get 0x03 Server unavailable. Hooks can redirect per client instead.
   */
  serverRedirect: { serverReference: string; permanent?: boolean | undefined } | undefined;
  /** Prefix for assigned client identifiers. Default 'pipit-'. */
  assignedClientIdPrefix: string;
  /**
   * A session belongs to the verified username (or "anonymous") of the client that created
   * it: a client of another identity that connects with its client id, to take it over or
   * to start clean, is refused with CONNACK 0x85 (v3 0x02), counted in
   * `refused['client-id-owner']`. False: any client may take any client id's session (the
   * MQTT default). Default true. See session-owner.ts.
   */
  bindClientIdToUser: boolean;
  /**
   * Mosquitto's check_retain_source: a retained message is sent to a new subscriber only
   * while the authorizePublish hooks still let its publisher publish it; one they refuse is
   * not sent (it stays retained), counted in `dropped['retained-source']`. Only when some
   * authorizePublish hook is installed. Default true. See retained-delivery.ts.
   */
  checkRetainSource: boolean;
  /**
   * How long a connection whose unsent output is over `maxSocketBufferBytes` may go without
   * the client taking any of it (ms); then it is closed (MQTT 5: DISCONNECT 0x97) and counted
   * in `refused['output-stalled']`. 0 = never. Default 60000.
   */
  outputStallTimeoutMs: number;
  /**
   * QoS 0 flow control (output-backpressure.ts): a QoS 0 message for a client whose output is
   * over `maxSocketBufferBytes` is still sent (up to twice that) while the client reads, and
   * its publisher is not read until that output has drained, for at most this long (ms);
   * after that the client counts as behind and its QoS 0 messages are dropped
   * (`dropped['socket-congested']`) until it has drained. 0 = drop at once, never hold a
   * publisher. Default 1000.
   */
  qos0DrainWaitMs: number;
  /**
   * Open sockets per source address (IPv6: per /64), all listeners together, handshakes
   * included; a socket over it is closed at once, before a byte is read, and counted in
   * `refused['address-connections']`. 0 = no cap. Loopback sources are exempt unless
   * `addressLimitsOnLoopback`. Default 1000.
   */
  maxConnectionsPerAddress: number;
  /**
   * Apply the per-address limits (`maxConnectionsPerAddress`, and the login failure
   * throttle of the password file) to loopback sources too. Off by default: local services
   * share 127.0.0.1, and one of them misbehaving should not shut out the others. Default false.
   */
  addressLimitsOnLoopback: boolean;
  /**
   * The memory budget in bytes: everything clients can make the broker hold (sessions,
   * subscriptions, in-memory queued deliveries, retained messages with their topics), as
   * measured costs (see memory-budget.ts). State that outlives its connection may use 7/8 of
   * it; the rest is kept for clients with clean sessions. When full: a new session gets
   * CONNACK 0x97 (v3 0x03), a subscription SUBACK 0x97 (v3 0x80), a message to queue is
   * dropped (`dropped['memory-budget']`), a retained message is not kept. `createBroker`
   * sizes it to the machine (half the V8 heap limit); the core alone defaults to 1 GiB.
   */
  memoryBudget: number;
  /**
   * Queued deliveries of all sessions together, in memory and in the store: past it, messages
   * to queue are dropped and counted (`dropped['queued-total']`). Default 5,000,000.
   */
  maxQueuedMessagesTotal: number;
  /**
   * Session expiry (seconds) of MQTT 3.x Clean Session 0 sessions, which cannot state one
   * (Mosquitto's `persistent_client_expiration`); `maxSessionExpiry` still caps it.
   * 0xFFFFFFFF = never. Default 86400 (one day).
   */
  v3SessionExpiry: number;
}

/** Defaults of every {@link CoreOptions} field. */
export const DEFAULT_CORE_OPTIONS: Readonly<CoreOptions> = {
  maximumPacketSize: 1024 * 1024,
  receiveMaximum: 100,
  maxInflight: 100,
  maxQueuedMessages: 10000,
  maxQueuedBytes: 64 * 1024 * 1024,
  queueQos0Offline: false,
  maxSocketBufferBytes: 4 * 1024 * 1024,
  qos0DrainWaitMs: 1000,
  topicAliasMaximum: 64,
  maxSessionExpiry: 0xffffffff,
  maxKeepAlive: 0,
  connectTimeoutMs: 10000,
  maximumQoS: 2,
  retainAvailable: true,
  maxRetainedMessages: 100000,
  maxRetainedBytes: 256 * 1024 * 1024,
  maxConnections: 50000,
  maxTopicLength: 65535,
  maxTopicLevels: 128,
  maxPublishRate: 0,
  maxSubscriptionsPerClient: 1000,
  allowAnonymous: true,
  responseInformation: undefined,
  serverRedirect: undefined,
  assignedClientIdPrefix: 'pipit-',
  bindClientIdToUser: true,
  checkRetainSource: true,
  outputStallTimeoutMs: 60_000,
  maxConnectionsPerAddress: 1000,
  addressLimitsOnLoopback: false,
  memoryBudget: 1024 * 1024 * 1024,
  maxQueuedMessagesTotal: 5_000_000,
  v3SessionExpiry: 86_400,
};

/** Fills unset fields with defaults. */
export function resolveCoreOptions(partial: Partial<CoreOptions> = {}): CoreOptions {
  const resolved: CoreOptions = { ...DEFAULT_CORE_OPTIONS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  return resolved;
}
