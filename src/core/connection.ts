/**
 * Connection: one network connection's protocol state machine. It decodes bytes, handles
 * packets strictly in order (pausing the transport while an async step runs), and writes
 * packets back. The session it serves outlives it.
 */

import type { TimerHandle } from '../ports/index.js';
import type {
  ConnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  Will,
} from '../protocol/index.js';
import { Decoder, encode, MqttError, ReasonCode } from '../protocol/index.js';
import { handleAuth } from './auth-flow.js';
import type { BrokerCore } from './broker-core.js';
import type { ConnectContext } from './connect-flow.js';
import { handleConnect } from './connect-flow.js';
import type { ConnectionInfo, ConnectionSink } from './connection-sink.js';
import { mapErrorToWire, toMqttError } from './error-mapping.js';
import type { ClientInfo } from './hooks.js';
import type { Delivery } from './message.js';
import { encodeDelivery } from './outbound.js';
import { OutputBackpressure } from './output-backpressure.js';
import {
  handlePuback,
  handlePubcomp,
  handlePublish,
  handlePubrec,
  handlePubrel,
} from './publish-flow.js';
import type { DeliveryOutput, FanoutCache, Session } from './session.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe-flow.js';

/** The one state field of a connection. */
export type ConnectionState = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed';

/** Limits the client announced in its CONNECT (MQTT 5), with the defaults for 3.x. */
export interface PeerLimits {
  receiveMaximum: number;
  maximumPacketSize: number;
  topicAliasMaximum: number;
  requestProblemInformation: boolean;
}

/** What a client that announced no limits gets (all of 3.x); shared, never mutated. */
const DEFAULT_PEER_LIMITS: Readonly<PeerLimits> = Object.freeze({
  receiveMaximum: 65535,
  maximumPacketSize: 268435460,
  topicAliasMaximum: 0,
  requestProblemInformation: true,
});

/** Why a connection is not read (bits of `holds`): an async step runs. */
const HOLD_ASYNC = 1;
/** Why a connection is not read: its unsent output is over `maxSocketBufferBytes`. */
const HOLD_OUTPUT = 2;

/** One network connection. */
export class Connection implements DeliveryOutput {
  /**
   * The connection whose bytes the decoder is parsing right now: the decoder calls one
   * shared function instead of a closure per connection (saved and restored, so a handler
   * that feeds another connection synchronously is safe).
   */
  private static decoding: Connection | undefined;

  state: ConnectionState = 'awaiting-connect';
  version: ProtocolVersion | undefined;
  client: ClientInfo;
  session: Session | undefined;
  /** The will of this connection, until it is published or discarded. */
  will: Will | undefined;
  keepAlive = 0;
  /** Session Expiry Interval from CONNECT (a DISCONNECT may not raise it from 0 [MQTT-3.14.2-2]). */
  connectSessionExpiry = 0;
  peer: Readonly<PeerLimits> = DEFAULT_PEER_LIMITS;
  sendWindow = 65535;
  /** Enhanced authentication method in use (MQTT 5). */
  authMethod: string | undefined;
  authStep = 0;
  /** Pending CONNECT while an enhanced authentication exchange runs. */
  pendingConnect: ConnectPacket | undefined;
  pendingContext: ConnectContext | undefined;
  /** Server Reference for a redirecting CONNACK [MQTT-4.11]. */
  redirectReference: string | undefined;
  // Created on first use: most connections never use topic aliases (MQTT 5 only).
  private aliasesIn: Map<number, string> | undefined;
  private aliasesOut: Map<string, number> | undefined;
  /** QoS 1 publishes being processed and not yet acknowledged (counts against Receive Maximum). */
  inboundQos1Pending = 0;
  /** How the connection ended; set once. */
  closeReason: { graceful: boolean; reasonCode: number | undefined; reason: string } | undefined;
  lastActivity: number;
  /** When CONNACK 0x00 was sent (clock ms); undefined before (read by the admin API). */
  connectedAt: number | undefined;

  private readonly decoder: Decoder;
  /** Packets decoded while an async step runs (created when first needed). */
  private backlog: (Packet | MqttError)[] | undefined;
  /** The continuation after an async step, made once per connection that has one. */
  private resumeAfterAsync: (() => void) | undefined;
  /** The last acknowledgement waiting for a commit, if any. */
  private ackTail: Promise<void> | undefined;
  /** Last outbound PUBLISH waiting for the store (see sendPublish); later ones queue behind. */
  private publishTail: Promise<void> | undefined;
  /** Bytes of outbound PUBLISH packets waiting for the store. */
  private heldBytes = 0;
  /**
   * Why packets are not handled now (HOLD_* bits): an async step runs, or the output is over
   * its bound. Packets decoded meanwhile wait in `backlog`; the transport is paused.
   */
  private holds = 0;
  /** Whether the transport is paused (follows `holds`). */
  private readPaused = false;
  /** Output backpressure, made the first time the output goes over its bound. */
  private backpressure: OutputBackpressure | undefined;
  private keepAliveTimer: TimerHandle | undefined;
  /** This connection's place among the connect deadlines (-1 once it left them). */
  private connectTicket = -1;

  constructor(
    readonly broker: BrokerCore,
    readonly sink: ConnectionSink,
    readonly info: ConnectionInfo,
  ) {
    this.decoder = new Decoder({ maximumPacketSize: broker.options.maximumPacketSize });
    this.lastActivity = broker.clock.now();
    this.client = {
      clientId: '',
      username: undefined,
      usernameVerified: false,
      protocolVersion: 4,
      remoteAddress: info.remoteAddress,
      listener: info.listener,
      certificateIdentity: info.certificateIdentity,
    };
    this.connectTicket = broker.connectDeadlines.add(this);
  }

  /** The connect timeout passed (called for every connection; only a waiting one closes). */
  connectTimedOut(): void {
    if (this.state === 'awaiting-connect' || this.state === 'authenticating') {
      this.closeNow('no CONNECT in time', ReasonCode.MaximumConnectTime);
    }
  }

  /** Bytes from the transport. */
  receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.broker.metrics.bytesReceived += chunk.length;
    this.lastActivity = this.broker.clock.now();
    const outer = Connection.decoding;
    Connection.decoding = this;
    try {
      this.decoder.push(chunk, Connection.onDecoded);
    } catch (err) {
      if (this.holds !== 0) (this.backlog ??= []).push(toMqttError(err));
      else this.fail(err);
    } finally {
      Connection.decoding = outer;
    }
  }

  /** Topic aliases the client set (MQTT 5 inbound, [MQTT-3.3.2-10]). */
  get topicAliasesIn(): Map<number, string> {
    this.aliasesIn ??= new Map();
    return this.aliasesIn;
  }

  /** Topic aliases the broker assigned towards the client. */
  get topicAliasesOut(): Map<string, number> {
    this.aliasesOut ??= new Map();
    return this.aliasesOut;
  }

  /** Number of outbound topic aliases assigned (without creating the map). */
  get topicAliasesOutCount(): number {
    return this.aliasesOut?.size ?? 0;
  }

  /** The transport saw the socket close or fail. */
  transportClosed(reason = 'connection lost'): void {
    if (this.state === 'closed') return;
    this.finish({ graceful: false, reasonCode: undefined, reason });
  }

  // --- DeliveryOutput ---------------------------------------------------------------------

  /**
   * True while the unsent output is over `maxSocketBufferBytes`; seeing it true also starts
   * output backpressure (reading held, the session called back once the output drains).
   */
  isCongested(): boolean {
    if (this.sink.bufferedBytes + this.heldBytes <= this.broker.options.maxSocketBufferBytes) {
      return false;
    }
    this.holdOutput();
    return true;
  }

  /** True while the unsent output is over its bound (no side effect). */
  outputOverBound(): boolean {
    return this.sink.bufferedBytes + this.heldBytes > this.broker.options.maxSocketBufferBytes;
  }

  /** Settles once the PUBLISH packets held for a commit are written; undefined if none are. */
  heldWrites(): Promise<void> | undefined {
    return this.publishTail;
  }

  /** The session paused after a batch: call it back once the transport took it. */
  sendLater(): void {
    this.backpressure ??= new OutputBackpressure(this);
    this.backpressure.later();
  }

  /** The transport took the batch: the session sends more. */
  sendMore(): void {
    const session = this.session;
    if (session?.output === this) session.outputReady();
  }

  /**
   * The output drained below its bound: the session sends what waited for it, then the
   * packets that arrived meanwhile are handled and reading resumes.
   */
  outputReleased(): void {
    this.holds &= ~HOLD_OUTPUT;
    // Packets the client sent while it was not read are still to come: the gap was ours.
    this.lastActivity = this.broker.clock.now();
    const session = this.session;
    if (session?.output === this) session.outputReady();
    this.handleBacklog();
  }

  sendPublish(
    delivery: Delivery,
    packetId: number | undefined,
    dup: boolean,
    cache?: FanoutCache,
  ): boolean {
    if (this.state !== 'connected') return false;
    const bytes = encodeDelivery(this, delivery, packetId, dup, cache);
    if (bytes === undefined) return false;
    const persistence = this.broker.persistence;
    if (this.publishTail !== undefined || (delivery.message.qos === 2 && persistence)) {
      this.writeAfterCommit(bytes);
    } else {
      this.writeBytes(bytes);
    }
    this.broker.metrics.messagesSent++;
    if (this.broker.hooks.hasDeliveredNotification) {
      this.broker.hooks.notify('onDelivered', this.client.clientId, delivery.message);
    }
    return true;
  }

  /**
   * [MQTT-4.3.3-9] A message published at QoS 2 goes onward only once the store has made
   * durable what routing it wrote, its inbound packet id among them (the spec's "Method B":
   * store the packet id, then initiate onward delivery). Sent before that commit, a crash
   * in between would let the publisher's resend, unknown to the restarted broker, deliver
   * it a second time. PUBLISH packets written after a held one wait behind it, so the
   * order of deliveries on this connection stays as routed [MQTT-4.6.0-6]. The packet was
   * encoded already: only the write waits. A failed commit still releases it (the store's
   * failure is reported to the publisher by its PUBREC; this delivery is already counted).
   */
  private writeAfterCommit(bytes: Buffer): void {
    const commit = this.broker.persistence?.commit().catch(() => {});
    this.heldBytes += bytes.length;
    const next: Promise<void> = (this.publishTail ?? Promise.resolve())
      .then(() => commit)
      .then(() => {
        this.heldBytes -= bytes.length;
        if (this.state !== 'closed') this.writeBytes(bytes);
        if (this.publishTail === next) this.publishTail = undefined;
      });
    this.publishTail = next;
  }

  sendPubrel(packetId: number): void {
    this.send({ type: 'pubrel', packetId });
  }

  // --- writing ----------------------------------------------------------------------------

  /** Encodes and writes a packet in this connection's protocol version. */
  send(packet: Packet): void {
    if (this.state === 'closed') return;
    let bytes = encode(packet, this.version ?? 4);
    const limit = this.peer.maximumPacketSize;
    if (bytes.length > limit && 'properties' in packet && packet.properties) {
      // [MQTT-3.1.2-25] drop reason string and user properties rather than exceed the maximum.
      const { reasonString, userProperties, ...rest } = packet.properties;
      bytes = encode({ ...packet, properties: rest } as Packet, this.version ?? 4);
    }
    if (bytes.length > limit) {
      // [MQTT-3.1.2-24] never over the client's Maximum Packet Size: not sent at all. A control
      // packet the client waits for (SUBACK, UNSUBACK, AUTH...) cannot be left out without
      // stalling it, so the connection ends with DISCONNECT 0x95 (when even that fits).
      this.broker.logger.info(
        { clientId: this.client.clientId, packet: packet.type, bytes: bytes.length, limit },
        "packet over the client's Maximum Packet Size not sent",
      );
      if (packet.type !== 'disconnect' && packet.type !== 'connack') {
        this.closeNow("a reply over the client's Maximum Packet Size", ReasonCode.PacketTooLarge);
      }
      return;
    }
    this.writeBytes(bytes);
  }

  /**
   * Sends an acknowledgement after the store has made durable what the step that produced it
   * wrote (`mutationsBefore` is `persistence.mutations` taken before the step): acknowledge
   * after ownership. Acknowledgements keep their order [MQTT-4.6.0-2] [MQTT-4.6.0-3]: once one
   * waits, the following ones wait behind it. `after` runs right after the packet is sent.
   */
  sendAck(packet: Packet, mutationsBefore: number, after?: () => void): void {
    const persistence = this.broker.persistence;
    const wrote = persistence !== undefined && persistence.mutations !== mutationsBefore;
    if (!wrote && this.ackTail === undefined) {
      this.send(packet);
      after?.();
      return;
    }
    const commit = wrote ? persistence.commit() : undefined;
    commit?.catch(() => {}); // handled in the chain below, once the earlier acks are out
    const previous = this.ackTail ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(() => commit)
      .then(
        () => {
          this.send(packet);
          after?.();
        },
        (err: unknown) => this.ackNotDurable(packet, err),
      )
      .finally(() => {
        if (this.ackTail === next) this.ackTail = undefined;
      });
    this.ackTail = next;
  }

  /**
   * The store could not make a step durable (e.g. disk full): MQTT 5 gets the failure reason
   * code 0x97 in the acknowledgement; MQTT 3.x cannot express it, so the connection closes
   * and the client sends again after reconnecting.
   */
  private ackNotDurable(packet: Packet, err: unknown): void {
    this.broker.logger.error(
      { err, clientId: this.client.clientId, packet: packet.type },
      'store write failed: not acknowledging',
    );
    if (this.state === 'closed') return;
    if (packet.type === 'pubrec') this.session?.releaseInboundQos2(packet.packetId);
    if (this.version !== 5) {
      this.finish({
        graceful: false,
        reasonCode: ReasonCode.QuotaExceeded,
        reason: 'store write failed',
      });
      return;
    }
    switch (packet.type) {
      case 'puback':
      case 'pubrec':
        this.send({ ...packet, reasonCode: ReasonCode.QuotaExceeded });
        return;
      case 'suback':
        this.send({
          ...packet,
          reasonCode: undefined,
          reasonCodes: packet.reasonCodes.map(() => ReasonCode.UnspecifiedError),
        } as Packet);
        return;
      default:
        this.closeNow('store write failed', ReasonCode.UnspecifiedError);
    }
  }

  writeBytes(bytes: Buffer): void {
    this.broker.metrics.bytesSent += bytes.length;
    this.broker.metrics.packetsSent++;
    this.sink.write(bytes);
  }

  /** True once the connection has ended (checked after every await). */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /** True when reason strings and user properties may be sent [MQTT-3.1.2-29]. */
  get problemInformation(): boolean {
    return this.peer.requestProblemInformation;
  }

  // --- lifecycle --------------------------------------------------------------------------

  /** Called by the connect flow once CONNACK 0x00 is sent. */
  markConnected(): void {
    this.state = 'connected';
    this.connectedAt = this.broker.clock.now();
    this.leaveConnectDeadlines();
    this.scheduleKeepAlive();
  }

  /** Fails the connection with a protocol error (after earlier packets were handled). */
  fail(err: unknown): void {
    if (this.state === 'closed') return;
    const error = toMqttError(err);
    const phase =
      this.state === 'awaiting-connect'
        ? 'before-connect'
        : this.state === 'authenticating'
          ? 'connecting'
          : 'connected';
    const wire = mapErrorToWire(error, phase, this.version, this.problemInformation);
    this.broker.metrics.protocolErrors++;
    const level = error.reasonCode === ReasonCode.ImplementationSpecificError ? 'error' : 'info';
    this.broker.logger[level](
      {
        clientId: this.client.clientId || undefined,
        reasonCode: error.reasonCode,
        specId: error.specId,
        err: error.message,
      },
      'closing connection: protocol error',
    );
    if (wire.packet?.type === 'connack' && wire.version === 5 && this.redirectReference) {
      wire.packet.properties = {
        ...wire.packet.properties,
        serverReference: this.redirectReference,
      };
    }
    if (wire.packet) {
      // send() keeps within the client's Maximum Packet Size [MQTT-3.1.2-25].
      if (wire.version === this.version) this.send(wire.packet);
      else this.writeBytes(encode(wire.packet, wire.version));
    }
    this.finish({ graceful: false, reasonCode: error.reasonCode, reason: error.message });
  }

  /** Sends a v5 DISCONNECT with `reasonCode` (if v5) and closes. Wills are published unless graceful. */
  closeNow(reason: string, reasonCode: number, properties?: Properties): void {
    if (this.state === 'closed') return;
    if (this.version === 5 && this.state === 'connected') {
      this.send({ type: 'disconnect', reasonCode, properties });
    }
    this.finish({ graceful: false, reasonCode, reason });
  }

  /** Ends the connection once: flush, close the transport, tell the broker. */
  finish(reason: { graceful: boolean; reasonCode: number | undefined; reason: string }): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.closeReason = reason;
    this.backlog = undefined;
    this.leaveConnectDeadlines();
    if (this.keepAliveTimer) this.broker.clock.clearTimeout(this.keepAliveTimer);
    this.backpressure?.stop();
    this.sink.end();
    this.broker.connectionClosed(this, wasConnected);
  }

  private leaveConnectDeadlines(): void {
    if (this.connectTicket < 0) return;
    this.broker.connectDeadlines.remove(this.connectTicket);
    this.connectTicket = -1;
  }

  private scheduleKeepAlive(): void {
    if (this.keepAlive === 0) return;
    this.armKeepAlive(this.keepAlive * 1500);
  }

  /**
   * Checks the keep alive in `ms`. The callback is an unnamed arrow on purpose: tsx (esbuild
   * keepNames) gives every arrow bound to a name a `name` property, which cost ~400 B more
   * per idle connection (bench/connections.bench.ts with BENCH_KEEPALIVE=60).
   */
  private armKeepAlive(ms: number): void {
    this.keepAliveTimer = this.broker.clock.setTimeout(() => this.checkKeepAlive(), ms);
  }

  private checkKeepAlive(): void {
    if (this.state !== 'connected') return;
    // [MQTT-3.1.2-22] close after one and a half times the keep alive without a packet.
    const limit = this.keepAlive * 1500;
    if ((this.holds & HOLD_OUTPUT) !== 0) {
      // The broker is not reading this client: its silence is ours. The output stall
      // timeout bounds how long that lasts.
      this.armKeepAlive(limit);
      return;
    }
    const idle = this.broker.clock.now() - this.lastActivity;
    if (idle >= limit) {
      this.closeNow('keep alive timeout', ReasonCode.KeepAliveTimeout);
      return;
    }
    this.armKeepAlive(limit - idle);
  }

  // --- packet dispatch ----------------------------------------------------------------------

  private static onDecoded(this: void, packet: Packet): void {
    Connection.decoding?.onPacket(packet);
  }

  private onPacket(packet: Packet): void {
    this.broker.metrics.packetsReceived++;
    if (this.holds !== 0) (this.backlog ??= []).push(packet);
    else this.run(packet);
  }

  private run(packet: Packet): void {
    let pending: void | Promise<void>;
    try {
      pending = this.dispatch(packet);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (pending) {
      this.holds |= HOLD_ASYNC;
      this.updateReading();
      this.resumeAfterAsync ??= () => this.afterAsync();
      pending.then(this.resumeAfterAsync, (err) => {
        this.holds &= ~HOLD_ASYNC;
        this.fail(err);
      });
    } else if (this.outputOverBound()) {
      // What this packet made us send filled the output: the packets after it wait until the
      // client has read, so a client that sends but does not read cannot grow our memory.
      this.holdOutput();
    }
  }

  private afterAsync(): void {
    this.holds &= ~HOLD_ASYNC;
    if (this.outputOverBound()) this.holdOutput();
    this.handleBacklog();
  }

  /** Handles the packets that waited, while nothing holds the connection; then reads again. */
  private handleBacklog(): void {
    while (this.backlog?.length && this.holds === 0 && this.state !== 'closed') {
      const next = this.backlog.shift()!;
      if (next instanceof MqttError) this.fail(next);
      else this.run(next);
    }
    this.updateReading();
  }

  /** Pauses or resumes the transport to match `holds`. */
  private updateReading(): void {
    if (this.state === 'closed') return;
    const paused = this.holds !== 0;
    if (paused === this.readPaused) return;
    this.readPaused = paused;
    if (paused) this.sink.pause();
    else this.sink.resume();
  }

  /** The output went over its bound: hold reading until it drains (output-backpressure.ts). */
  private holdOutput(): void {
    if ((this.holds & HOLD_OUTPUT) !== 0 || this.state === 'closed') return;
    this.holds |= HOLD_OUTPUT;
    this.updateReading();
    this.backpressure ??= new OutputBackpressure(this);
    this.backpressure.hold();
  }

  private dispatch(packet: Packet): void | Promise<void> {
    switch (this.state) {
      case 'awaiting-connect':
        if (packet.type !== 'connect') {
          throw new MqttError(
            ReasonCode.ProtocolError,
            'first packet must be CONNECT',
            'MQTT-3.1.0-1',
          );
        }
        return handleConnect(this, packet);
      case 'authenticating':
        if (packet.type === 'auth') return handleAuth(this, packet);
        if (packet.type === 'disconnect') {
          this.finish({
            graceful: true,
            reasonCode: packet.reasonCode,
            reason: 'client disconnected',
          });
          return;
        }
        throw new MqttError(
          ReasonCode.ProtocolError,
          `${packet.type} during authentication`,
          'MQTT-4.12.0-4',
        );
      case 'connected':
        return this.dispatchConnected(packet);
      case 'closed':
        return;
    }
  }

  private dispatchConnected(packet: Packet): void | Promise<void> {
    switch (packet.type) {
      case 'publish':
        return handlePublish(this, packet);
      case 'puback':
        return handlePuback(this, packet);
      case 'pubrec':
        return handlePubrec(this, packet);
      case 'pubrel':
        return handlePubrel(this, packet);
      case 'pubcomp':
        return handlePubcomp(this, packet);
      case 'subscribe':
        return handleSubscribe(this, packet);
      case 'unsubscribe':
        return handleUnsubscribe(this, packet);
      case 'pingreq':
        this.send({ type: 'pingresp' }); // [MQTT-3.12.4-1]
        return;
      case 'disconnect':
        return this.broker.clientDisconnect(this, packet);
      case 'auth':
        return handleAuth(this, packet);
      case 'connect':
        throw new MqttError(ReasonCode.ProtocolError, 'second CONNECT', 'MQTT-3.1.0-2');
      default:
        throw new MqttError(ReasonCode.ProtocolError, `${packet.type} is not sent by clients`);
    }
  }
}
