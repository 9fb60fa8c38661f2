/**
 * Options of the MQTT client and of its operations.
 */
import type tls from 'node:tls';
import type { ProtocolVersion, QoS, Will } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';

/** How to reach and greet the server. */
export interface ClientOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 1883, or 8883 with TLS. */
  port?: number;
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
