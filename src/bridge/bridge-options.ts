/**
 * What a bridge is configured with: where the remote broker is (several addresses for
 * failover), how to connect to it, and which topics go which way (Mosquitto's `topic` lines).
 */
import type tls from 'node:tls';
import type { ServerAddress } from '../client/index.js';
import { BRIDGE_CLIENT_ID_PREFIX } from '../core/index.js';
import type { QoS } from '../protocol/index.js';

/** Which way a topic rule forwards. */
export type BridgeDirection = 'in' | 'out' | 'both';

/**
 * One topic rule, as Mosquitto's `topic <pattern> <direction> <qos> <local-prefix>
 * <remote-prefix>`: the local topic is `localPrefix + pattern`, the remote one
 * `remotePrefix + pattern`. `out` subscribes locally and publishes on the remote; `in`
 * subscribes on the remote and publishes locally; `both` does the two. An empty pattern
 * with prefixes maps one topic to another (the prefixes are then whole topics).
 */
export interface TopicRule {
  pattern: string;
  /** Default 'out' (as Mosquitto). */
  direction?: BridgeDirection;
  /** QoS of the subscription that feeds the rule (local for out, remote for in). Default 0. */
  qos?: QoS;
  /** Default ''. */
  localPrefix?: string;
  /** Default ''. */
  remotePrefix?: string;
}

/** One bridge to a remote broker. */
export interface BridgeOptions {
  /** Unique among the bridges: names the local session (`$bridge/<name>`), logs, `$SYS`. */
  name: string;
  /** The remote broker's addresses, the preferred first (failover along the list). */
  addresses: readonly ServerAddress[];
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5.0. */
  protocolVersion?: 4 | 5;
  /** Client id on the remote. Default `<hostname>.<name>`, as Mosquitto's. */
  clientId?: string;
  /**
   * Start a new session on the remote at each connection. Default false: the remote keeps
   * the bridge's subscriptions and its unfinished QoS 1/2 exchanges across reconnects.
   */
  cleanSession?: boolean;
  /** MQTT 5 Session Expiry Interval asked of the remote when not clean, seconds. Default 0xFFFFFFFF. */
  sessionExpiry?: number;
  /** Seconds. Default 60. */
  keepAlive?: number;
  username?: string;
  password?: string;
  /** TLS towards the remote: `true`, or options (CA, client certificate and key, ...). */
  tls?: boolean | tls.ConnectionOptions;
  /** MQTT 3.1.1: Mosquitto's bridge flag (protocol level | 0x80). Default true. */
  tryPrivate?: boolean;
  topics: readonly TopicRule[];
  /** Most QoS 1/2 messages in flight to the remote. Default 100. */
  maxInflight?: number;
  /** Reconnect delays, ms: first, and the cap of the doubling. Defaults 1000 and 30000. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** While on a fallback address, how often to check the first (ms). Default 60000. */
  primaryProbeMs?: number;
  /**
   * Publish the state (1 up, 0 down), retained: here on `$SYS/broker/connection/<name>/state`,
   * and on the remote (unless `notificationsLocalOnly`) on `notificationTopic`, with a will
   * that sets it to 0 when the bridge dies. Default true (Mosquitto's `notifications`).
   */
  notifications?: boolean;
  /**
   * The state's topic on the remote (Mosquitto's `notification_topic`). Default
   * `$SYS/broker/connection/<clientId>/state`, as Mosquitto's, which Mosquitto lets clients
   * write (Pipit does not: towards a Pipit remote, name another topic).
   */
  notificationTopic?: string;
  /**
   * Publish the state here only (Mosquitto's `notifications_local_only`). Default true, unlike
   * Mosquitto: a `$SYS` publish or will is refused by many remotes (Pipit, EMQX, AWS IoT,
   * which disconnects the client for it), so remote notifications are asked for.
   */
  notificationsLocalOnly?: boolean;
  /**
   * On each connection to the remote, send it the retained messages held here that match the
   * `out` rules, retained (as EMQX does; Mosquitto does not). Default false: a local retained
   * message may be older than the remote's own value for the topic, which it would replace,
   * and every reconnect sends them all again.
   */
  sendRetainedOnConnect?: boolean;
  /**
   * Most messages per second taken from the remote; past it the bridge stops reading from
   * the remote for a while (TCP pushes back on it; nothing is dropped). Default 0: no limit.
   */
  maxIncomingRate?: number;
  /**
   * The username incoming messages are authorized as (the ACL's `user` block), taken as
   * verified. Default none: the ACL's general rules and `pattern` lines with
   * `%c` = `$bridge/<name>` apply.
   */
  localUsername?: string;
}

/** The local client id of a bridge's session (clients cannot take it: connect-flow.ts). */
export function bridgeSessionId(name: string): string {
  return `${BRIDGE_CLIENT_ID_PREFIX}${name}`;
}

/**
 * The listener name incoming bridged messages carry (`ClientInfo.listener`): the hooks that
 * are scoped by listener (`pipit broker`'s ACL file and listener policy) know bridges by it.
 */
export const BRIDGE_LISTENER = '$bridge';
