/**
 * Connection: one network connection's protocol state machine, in three layers: the input
 * side (packet-input.ts: decoding, packets handled strictly in order), the output side
 * (connection-output.ts: encoding, commit ordering, backpressure), and here the states, the
 * handshake's surface, keep alive and the end of the connection. The handlers
 * (packet-dispatch.ts) see it through narrow contexts (handler-context.ts); the handshake's
 * state is its own object (handshake.ts). The session it serves outlives it.
 */
import type { Packet, Properties, ProtocolVersion, Will } from '../protocol/index.js';
import { ReasonCode } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import { ConnectionOutput } from './connection-output.js';
import type { ConnectionInfo, ConnectionSink } from './connection-sink.js';
import type { ConnectionLifecycle, CoreServices } from './core-services.js';
import type { DeliveryOutput } from './delivery-output.js';
import { failConnection } from './error-mapping.js';
import type {
  ClientContext,
  CloseReason,
  ConnectionState,
  HandshakeContext,
} from './handler-context.js';
import type { Handshake, PeerLimits } from './handshake.js';
import { DEFAULT_PEER_LIMITS } from './handshake.js';
import type { KeepAliveItem } from './keep-alive-deadlines.js';
import { dispatchPacket } from './packet-dispatch.js';
import { HOLD_OUTPUT } from './packet-input.js';
import type { Session } from './session.js';
import type { WillVerdict } from './will-verdict.js';

export type { CloseReason, ConnectionState } from './handler-context.js';
export type { PeerLimits } from './handshake.js';

/** What a connection needs from the core: its parts, and a say in the connection's life. */
export type ConnectionServices = CoreServices & ConnectionLifecycle<Connection>;

/** One network connection. */
export class Connection
  extends ConnectionOutput
  implements DeliveryOutput, HandshakeContext, ClientContext, KeepAliveItem
{
  /** QoS 1 publishes being processed and not yet acknowledged (counts against Receive Maximum). */
  inboundQos1Pending = 0;
  /** How the connection ended; set once. */
  closeReason: CloseReason | undefined;
  // Written by this class alone; the handlers change them through the methods below.
  private connState: ConnectionState = 'awaiting-connect';
  private protocolVersion: ProtocolVersion | undefined;
  private clientInfo: ClientInfo;
  private served: Session | undefined;
  /**
   * The handshake's state: from CONNECT until CONNACK 0x00, then only while it holds what a
   * few connections need later (a will, an enhanced authentication method): an idle client
   * without them does not keep its 120 B. What every connection needs later is copied below.
   */
  private shake: Handshake | undefined;
  /** Keep alive in seconds as granted, from CONNACK 0x00 on. */
  private grantedKeepAlive = 0;
  /** When CONNACK 0x00 went out (clock ms). */
  private acceptedAt: number | undefined;
  /** Session Expiry Interval as granted in CONNACK 0x00. */
  private grantedExpiry = 0;
  private peerLimits: Readonly<PeerLimits> = DEFAULT_PEER_LIMITS;
  private window = 65535;
  /** Place among the keep-alive deadlines (-1: none); written by `core.keepAlives` alone. */
  keepAliveSlot = -1;
  /** This connection's place among the connect deadlines (-1 once it left them). */
  private connectTicket = -1;
  /**
   * Kept instead of the transport's ConnectionInfo, whose other fields `clientInfo` holds:
   * one object less per connection (40 B).
   */
  readonly identityAsUsername: boolean;

  constructor(
    readonly core: ConnectionServices,
    readonly sink: ConnectionSink,
    info: ConnectionInfo,
  ) {
    super(core.options.maximumPacketSize, core.clock.now());
    this.clientInfo = {
      clientId: '',
      username: undefined,
      usernameVerified: false,
      protocolVersion: 4,
      remoteAddress: info.remoteAddress,
      listener: info.listener,
      certificateIdentity: info.certificateIdentity,
    };
    this.identityAsUsername = info.identityAsUsername === true;
    this.connectTicket = core.connectDeadlines.add(this);
  }

  get state(): ConnectionState {
    return this.connState;
  }
  get version(): ProtocolVersion | undefined {
    return this.protocolVersion;
  }
  get client(): ClientInfo {
    return this.clientInfo;
  }
  /** The session served, from CONNACK 0x00 on. */
  get session(): Session | undefined {
    return this.served;
  }
  get handshake(): Handshake | undefined {
    return this.shake;
  }
  /** The client's MQTT 5 limits (the defaults for 3.x). */
  get peer(): Readonly<PeerLimits> {
    return this.peerLimits;
  }
  /** Outbound QoS 1/2 window: min(the client's Receive Maximum, our inflight limit). */
  get sendWindow(): number {
    return this.window;
  }
  get closed(): boolean {
    return this.connState === 'closed';
  }
  /** The will of this connection, until it is published or discarded. */
  get will(): Will | undefined {
    return this.shake?.will;
  }
  /**
   * This node's verdict on the will when the node records one (will-verdict.ts): a promise
   * while an asynchronous hook decides, then the verdict.
   */
  get willVerdict(): WillVerdict | Promise<WillVerdict> | undefined {
    return this.shake?.willVerdict;
  }
  set willVerdict(verdict: WillVerdict | Promise<WillVerdict> | undefined) {
    const handshake = this.shake;
    if (handshake === undefined) return;
    handshake.willVerdict = verdict;
    if (verdict instanceof Promise) {
      void verdict.then((settled) => {
        if (handshake.willVerdict === verdict) handshake.willVerdict = settled;
      });
    }
  }
  /** When CONNACK 0x00 went out (clock ms); undefined before. */
  get connectedAt(): number | undefined {
    return this.acceptedAt;
  }
  /** Keep alive in seconds as granted (0 before CONNECT, or none). */
  get keepAlive(): number {
    return this.shake !== undefined ? this.shake.keepAlive : this.grantedKeepAlive;
  }
  /** Session Expiry Interval granted at CONNACK: a DISCONNECT may not raise it from 0. */
  get sessionExpiryAtConnect(): number {
    return this.grantedExpiry;
  }
  /** When a packet last arrived (clock ms), for the keep alive and the read API. */
  get lastActivityAt(): number {
    return this.lastActivity;
  }
  protected get connected(): boolean {
    return this.connState === 'connected';
  }

  // --- the handshake's surface (connect-flow, auth-flow, connack-flow) ---------------------

  beginHandshake(handshake: Handshake, version: ProtocolVersion): void {
    this.protocolVersion = version;
    this.connState = 'authenticating';
    this.shake = handshake;
  }

  identify(client: ClientInfo): void {
    this.clientInfo = client;
  }

  limitPeer(peer: Readonly<PeerLimits>, sendWindow: number): void {
    // A client that announced the defaults (most MQTT 5 clients: no limits at all) shares
    // the frozen default object rather than keeping its own (56 B per connection).
    this.peerLimits = isDefaultPeer(peer) ? DEFAULT_PEER_LIMITS : peer;
    this.window = sendWindow;
  }

  accept(session: Session): void {
    this.served = session;
    this.connState = 'connected';
    this.leaveConnectDeadlines();
    this.forgetAsyncContinuation();
    const now = this.core.clock.now();
    this.acceptedAt = now;
    const shake = this.shake;
    const keepAlive = shake?.keepAlive ?? 0;
    this.grantedKeepAlive = keepAlive;
    this.grantedExpiry = shake?.sessionExpiry ?? 0;
    if (keepAlive !== 0) this.core.keepAlives.schedule(this, now + keepAlive * 1500);
    session.attach(this);
    this.core.connected(this);
    if (shake !== undefined && shake.will === undefined && shake.authMethod === undefined) {
      this.shake = undefined;
    }
  }

  /** Another connection claimed the session [MQTT-3.1.4-3]: close, v5 with 0x8E. */
  takeOver(): void {
    this.closeNow('session taken over', ReasonCode.SessionTakenOver);
  }

  // --- the end ----------------------------------------------------------------------------

  /** The connect timeout passed (called for every connection; only a waiting one closes). */
  connectTimedOut(): void {
    if (this.connState === 'awaiting-connect' || this.connState === 'authenticating') {
      this.closeNow('no CONNECT in time', ReasonCode.MaximumConnectTime);
    }
  }

  /** The transport saw the socket close or fail. */
  transportClosed(reason = 'connection lost'): void {
    if (this.connState === 'closed') return;
    this.finish({ graceful: false, reasonCode: undefined, reason });
  }

  /** Discards the will: it is not published when the connection ends. */
  discardWill(): void {
    const handshake = this.shake;
    if (handshake?.will === undefined) return;
    if (this.connState === 'connected') {
      this.core.persistence?.deleteWill(this.clientInfo.clientId);
      if (this.served !== undefined) this.served.connectionWill = undefined;
    }
    handshake.will = undefined;
  }

  /** Fails the connection with a protocol error (after earlier packets were handled). */
  fail(err: unknown): void {
    if (this.connState === 'closed') return;
    failConnection(this, err);
  }

  /** Sends a v5 DISCONNECT with `reasonCode` (if v5) and closes. Wills are published unless graceful. */
  closeNow(reason: string, reasonCode: number, properties?: Properties): void {
    if (this.connState === 'closed') return;
    if (this.protocolVersion === 5 && this.connState === 'connected') {
      this.send({ type: 'disconnect', reasonCode, properties });
    }
    this.finish({ graceful: false, reasonCode, reason });
  }

  /** Ends the connection once: flush, close the transport, tell the core. */
  finish(reason: CloseReason): void {
    if (this.connState === 'closed') return;
    const wasConnected = this.connState === 'connected';
    this.connState = 'closed';
    this.closeReason = reason;
    this.dropBacklog();
    this.leaveConnectDeadlines();
    this.core.keepAlives.remove(this);
    this.stopOutput();
    this.sink.end();
    this.core.connectionClosed(this, wasConnected);
  }

  protected dispatch(packet: Packet): void | Promise<void> {
    return dispatchPacket(this, packet);
  }

  private leaveConnectDeadlines(): void {
    if (this.connectTicket < 0) return;
    this.core.connectDeadlines.remove(this.connectTicket);
    this.connectTicket = -1;
  }

  /**
   * The keep-alive deadline came (`core.keepAlives`): closes the connection if no packet
   * arrived for 1.5 x its keep alive, else returns when to look again (-1: no more checks).
   */
  keepAliveDue(now: number): number {
    if (this.connState !== 'connected') return -1;
    // [MQTT-3.1.2-24] (3.1.1) [MQTT-3.1.2-22] (5.0) close after one and a half times the keep
    // alive without a packet.
    const limit = this.grantedKeepAlive * 1500;
    if (limit === 0) return -1;
    if ((this.holds & HOLD_OUTPUT) !== 0) {
      // The broker is not reading this client: its silence is ours. The output stall
      // timeout bounds how long that lasts.
      return now + limit;
    }
    if (now - this.lastActivity >= limit) {
      this.closeNow('keep alive timeout', ReasonCode.KeepAliveTimeout);
      return -1;
    }
    return this.lastActivity + limit;
  }
}

/** Whether `peer` says what {@link DEFAULT_PEER_LIMITS} says. */
function isDefaultPeer(peer: Readonly<PeerLimits>): boolean {
  const d = DEFAULT_PEER_LIMITS;
  return (
    peer.receiveMaximum === d.receiveMaximum &&
    peer.maximumPacketSize === d.maximumPacketSize &&
    peer.topicAliasMaximum === d.topicAliasMaximum &&
    peer.requestProblemInformation === d.requestProblemInformation
  );
}
