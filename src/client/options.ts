/**
 * Options of the MQTT client and of its operations.
 */
import type tls from 'node:tls';
import type { Packet, ProtocolVersion, QoS, Will } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';

/** Which way a traced packet went. */
export type TraceDirection = 'sending' | 'received';

/** How to reach and greet the server. */
export interface ClientOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 1883, or 8883 with TLS. */
  port?: number;
  /** Path of a Unix domain socket to connect to instead of host and port. */
  socketPath?: string;
  /** Local address to bind the socket to (which interface the connection leaves from). */
  localAddress?: string;
  /** Send small packets at once (TCP_NODELAY, Nagle's algorithm off). Default true. */
  noDelay?: boolean;
  /** 3 = MQTT 3.1, 4 = MQTT 3.1.1 (default), 5 = MQTT 5.0. */
  protocolVersion?: ProtocolVersion;
  /** Empty asks the server to assign one (3.1.1 with clean session, and 5.0). */
  clientId?: string;
  /** Clean Session (3.x) / Clean Start (5.0); default true. */
  clean?: boolean;
  /** Seconds; 0 turns keepalive off. Default 60. */
  keepAlive?: number;
  username?: string;
  password?: string | Buffer;
  will?: Will;
  /** MQTT 5 CONNECT properties (session expiry, receive maximum, ...). */
  properties?: Properties;
  /** `true` for TLS with default options, or the options for `tls.connect`. */
  tls?: boolean | tls.ConnectionOptions;
  /** Longest wait for the socket and the CONNACK, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Largest packet accepted from the server, in bytes. */
  maximumPacketSize?: number;
  /**
   * Most QoS 1/2 publishes sent and not yet acknowledged; further publishes wait. The
   * server's MQTT 5 Receive Maximum lowers it further. Default 65535.
   */
  maxInflight?: number;
  /**
   * MQTT 3.x: send Mosquitto's bridge flag (protocol level | 0x80, `try_private`), so that a
   * Mosquitto server does not send this client back the messages it published. Default false.
   */
  bridgeFlag?: boolean;
  /**
   * Received QoS 1/2 messages are acknowledged (PUBACK / PUBREC) only when the application
   * calls `acknowledge(packet)`, not on receipt. Default false.
   */
  deferAcks?: boolean;
  /** Called with every packet sent and received (a debug trace, e.g. `pipit sub -d`). */
  trace?: (direction: TraceDirection, packet: Packet) => void;
}

/** Options of one publish. */
export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 PUBLISH properties. */
  properties?: Properties;
}

/** Options of one subscribe call; applied to every filter given as a string. */
export interface SubscribeOptions {
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
  /** MQTT 5 SUBSCRIBE properties (subscription identifier, user properties). */
  properties?: Properties;
}

/** Options of one unsubscribe call. */
export interface UnsubscribeOptions {
  /** MQTT 5 UNSUBSCRIBE properties (user properties). */
  properties?: Properties;
}
