/**
 * What the protocol handlers see of their connection and of the core: narrow interfaces,
 * not the Connection and BrokerCore classes. A handler reads what it needs and changes the
 * connection only through the few methods listed here; none imports connection.ts or
 * broker-core.ts (which import the handlers), so the core has no import cycle.
 */
import type { Packet, ProtocolVersion } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import type { CoreServices } from './core-services.js';
import type { Handshake, PeerLimits } from './handshake.js';
import type { Session } from './session.js';
import type { SessionClaimant } from './session-registry.js';

/** The one state field of a connection. */
export type ConnectionState = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed';

/** How a connection ended. */
export interface CloseReason {
  /** True when the client sent DISCONNECT. */
  graceful: boolean;
  reasonCode: number | undefined;
  reason: string;
}

/** What every handler sees of its connection. */
interface ConnectionBasics<S> {
  readonly core: S;
  readonly client: ClientInfo;
  /** The protocol version of the CONNECT (undefined before it). */
  readonly version: ProtocolVersion | undefined;
  readonly state: ConnectionState;
  /** True once the connection has ended (checked after every await). */
  readonly closed: boolean;
  /**
   * The handshake state, from the CONNECT on; once connected, only while it holds a will or an
   * authentication method.
   */
  readonly handshake: Handshake | undefined;
  /** Encodes and writes a packet, within the client's Maximum Packet Size. */
  send(packet: Packet): void;
}

/** The core as the connect and auth flows use it. */
export type HandshakeServices = Pick<
  CoreServices,
  'options' | 'refusals' | 'hooks' | 'registry' | 'metrics'
>;

/** A connection during its handshake (connect-flow, auth-flow, connack-flow). */
export interface HandshakeContext extends ConnectionBasics<HandshakeServices>, SessionClaimant {
  /** The listener makes the verified certificate identity the username (TLS `useIdentityAsUsername`). */
  readonly identityAsUsername: boolean;
  readonly peer: Readonly<PeerLimits>;
  /** A CONNECT was read: the handshake starts (state 'authenticating'). */
  beginHandshake(handshake: Handshake, version: ProtocolVersion): void;
  /** Who the client is, as far as the handshake knows (hooks may replace the username). */
  identify(client: ClientInfo): void;
  /** The client's MQTT 5 limits, and the outbound QoS 1/2 window they allow. */
  limitPeer(peer: Readonly<PeerLimits>, sendWindow: number): void;
  /** CONNACK 0x00 was sent: the connection serves `session` from now on. */
  accept(session: Session): void;
}

/** The core as the handlers of a connected client use it. */
export type ClientServices = Pick<
  CoreServices,
  | 'options'
  | 'clock'
  | 'logger'
  | 'metrics'
  | 'refusals'
  | 'hooks'
  | 'budget'
  | 'persistence'
  | 'pipeline'
  | 'subscriptions'
  | 'messageIds'
  | 'retained'
  | 'recordDrop'
>;

/** A connected client (publish-flow, ack-flow, subscribe-flow, disconnect-flow). */
export interface ClientContext extends ConnectionBasics<ClientServices> {
  readonly session: Session | undefined;
  /** Session Expiry Interval granted at CONNACK (a DISCONNECT may not raise it from 0). */
  readonly sessionExpiryAtConnect: number;
  /** Topic aliases the client set (MQTT 5 inbound, [MQTT-3.3.2-10]). */
  readonly topicAliasesIn: Map<number, string>;
  /**
   * QoS 1 publishes being worked on and not yet acknowledged (they count against Receive
   * Maximum); the publish flow keeps it.
   */
  inboundQos1Pending: number;
  /**
   * Sends an acknowledgement once the store has made durable what the step that produced it
   * wrote (commit-order.ts); `mutationsBefore` is `persistence.mutations` before the step.
   * `wait`: what else it waits for (a publish's, ack-waits.ts). Returns what it waits for of
   * its own (its step's commit and `wait`; rejects when that fails), undefined when nothing.
   */
  sendAck(
    packet: Packet,
    mutationsBefore: number,
    after?: () => void,
    wait?: Promise<unknown>,
  ): Promise<unknown> | undefined;
  /** `sendAck` of a PUBACK with Success and no properties, without a packet object. */
  sendSuccessPuback(packetId: number, mutationsBefore: number, wait?: Promise<void>): void;
  /** Discards the will (it is not published when the connection ends). */
  discardWill(): void;
  /** Ends the connection (flush, close the transport, tell the core). */
  finish(reason: CloseReason): void;
}
