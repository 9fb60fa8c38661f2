/**
 * A connection's handshake and authentication state: what the CONNECT asked for and what
 * the server granted, the will, the enhanced authentication exchange (MQTT 5 AUTH) and a
 * redirection. The connect and auth flows write it; once CONNACK 0x00 went out, the connection
 * copies the keep alive and the session expiry and keeps this object only while it holds a
 * will (published or discarded when it ends) or an authentication method (re-authentication).
 */
import type { ConnectPacket, Will } from '../protocol/index.js';
import type { WillVerdict } from './will-verdict.js';

/** Limits the client announced in its CONNECT (MQTT 5), with the defaults for 3.x. */
export interface PeerLimits {
  receiveMaximum: number;
  maximumPacketSize: number;
  topicAliasMaximum: number;
  requestProblemInformation: boolean;
}

/** What a client that announced no limits gets (all of 3.x); shared, never mutated. */
export const DEFAULT_PEER_LIMITS: Readonly<PeerLimits> = Object.freeze({
  receiveMaximum: 65535,
  maximumPacketSize: 268435460,
  topicAliasMaximum: 0,
  requestProblemInformation: true,
});

/** The handshake of one connection, from its CONNECT on. */
export class Handshake {
  /** The CONNECT being answered; undefined once CONNACK went out. */
  connect: ConnectPacket | undefined;
  /** The server assigned the client identifier [MQTT-3.1.3-6]. */
  assignedClientId = false;
  /** Keep alive in seconds, as granted. */
  keepAlive = 0;
  /** Server Keep Alive to announce (MQTT 5), when the server lowered the client's. */
  serverKeepAlive: number | undefined;
  /**
   * Session Expiry Interval asked in CONNECT, then as granted (capped by maxSessionExpiry);
   * a DISCONNECT may not raise it from 0 (MQTT 5 3.14.2.2.2).
   */
  sessionExpiry = 0;
  /** The will of this connection, until it is published or discarded. */
  will: Will | undefined;
  /**
   * This node's verdict on the will, taken at CONNACK when the node records one (a cluster
   * node, will-verdict.ts); a promise while an asynchronous hook decides.
   */
  willVerdict: WillVerdict | Promise<WillVerdict> | undefined;
  /** Enhanced authentication method in use (MQTT 5). */
  authMethod: string | undefined;
  /** Steps of authentication taken: 0 for CONNECT, then one per AUTH. */
  authStep = 0;
  /** Authentication Data for the CONNACK, from the hook that allowed the client. */
  authenticationData: Buffer | undefined;
  /** Server Reference for a redirecting CONNACK [MQTT-4.11]. */
  redirectReference: string | undefined;
  /** Clean Start (MQTT 5) / Clean Session (3.x) as the CONNECT asked, for the connect log line. */
  readonly cleanStart: boolean;

  constructor(connect: ConnectPacket) {
    this.connect = connect;
    this.cleanStart = connect.clean;
  }
}
