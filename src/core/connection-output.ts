/**
 * The output side of a connection: packets encoded within the client's Maximum Packet Size,
 * PUBLISH packets for its session (encoded once per wire form of a fan-out, outbound.ts),
 * acknowledgements and QoS 2 copies ordered after commits (commit-order.ts), and output
 * backpressure (output-backpressure.ts) when the client reads slower than it is written to.
 *
 * A layer of Connection (packet-input.ts -> this -> connection.ts) rather than an object it
 * holds, like the input side: no object more per idle connection, and `sendPublish`, the
 * fan-out's call, stays a method of the one class that implements DeliveryOutput.
 */
import type { Packet, ProtocolVersion } from '../protocol/index.js';
import { encode, encodeSuccessPuback, ReasonCode } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import { CommitOrder } from './commit-order.js';
import type { CoreServices } from './core-services.js';
import type { DeliveryOutput } from './delivery-output.js';
import type { CloseReason } from './handler-context.js';
import type { PeerLimits } from './handshake.js';
import type { Delivery } from './message.js';
import { encodeDelivery } from './outbound.js';
import { OutputBackpressure } from './output-backpressure.js';
import { HOLD_OUTPUT, PacketInput } from './packet-input.js';
import type { Session } from './session.js';
import type { FanoutCache } from './subscriber.js';
import { TopicAliases } from './topic-aliases.js';

/** Writing to one connection. */
export abstract class ConnectionOutput extends PacketInput implements DeliveryOutput {
  /** Topic aliases, made on first use (MQTT 5 only). */
  private aliases: TopicAliases | undefined;
  /** Commit ordering of acknowledgements and held PUBLISH packets (with a store only). */
  private commits: CommitOrder | undefined;
  /** Output backpressure, made the first time the output goes over its bound. */
  private backpressure: OutputBackpressure | undefined;

  abstract override readonly core: CoreServices;
  abstract get version(): ProtocolVersion | undefined;
  abstract get client(): ClientInfo;
  abstract get peer(): Readonly<PeerLimits>;
  abstract get session(): Session | undefined;
  abstract get sendWindow(): number;
  abstract takeOver(): void | Promise<void>;
  /** True while CONNACK 0x00 was sent and the connection has not ended. */
  protected abstract get connected(): boolean;
  /** Closes with `reasonCode` (a v5 DISCONNECT when connected). */
  abstract closeNow(reason: string, reasonCode: number): void;
  /** Ends the connection once (no DISCONNECT). */
  abstract finish(reason: CloseReason): void;

  /** Topic aliases the client set (MQTT 5 inbound, [MQTT-3.3.2-10]). */
  get topicAliasesIn(): Map<number, string> {
    return (this.aliases ??= new TopicAliases()).incoming;
  }

  /** Topic aliases the broker assigned towards the client. */
  get topicAliasesOut(): Map<string, number> {
    return (this.aliases ??= new TopicAliases()).outgoing;
  }

  /** Number of outbound topic aliases assigned (without creating the map). */
  get topicAliasesOutCount(): number {
    return this.aliases === undefined ? 0 : this.aliases.outgoingCount;
  }

  /**
   * True while the unsent output is over `maxSocketBufferBytes`; seeing it true also starts
   * output backpressure (reading held, the session called back once the output drains).
   */
  isCongested(): boolean {
    if (!this.outputOverBound()) return false;
    this.holdOutput();
    return true;
  }

  admitsQos0OverBound(): boolean {
    return this.backpressure?.admitOverBound(PacketInput.handlingNow()) === true;
  }

  /** True while the unsent output (in the sink, and held for a commit) is over its bound. */
  outputOverBound(): boolean {
    const commits = this.commits;
    const held = commits === undefined ? 0 : commits.heldBytes;
    return this.sink.bufferedBytes + held > this.core.options.maxSocketBufferBytes;
  }

  /** Settles once the PUBLISH packets held for a commit are written; undefined if none are. */
  heldWrites(): Promise<void> | undefined {
    return this.commits?.heldWrites();
  }

  /** The session paused after a batch: call it back once the transport took it. */
  sendLater(): void {
    (this.backpressure ??= new OutputBackpressure(this)).later();
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
    this.releaseOutputHold();
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
    if (!this.connected) return false;
    const bytes = encodeDelivery(this, delivery, packetId, dup, cache);
    if (bytes === undefined) return false;
    const core = this.core;
    const commits = this.commits;
    if (commits?.holdsPublishes || (delivery.message.qos === 2 && core.persistence)) {
      // [MQTT-4.3.3-9] a QoS 2 copy goes onward once routing is durable (commit-order.ts).
      this.commitOrder().writeAfterCommit(bytes);
    } else {
      this.writeBytes(bytes);
    }
    core.metrics.messagesSent++;
    core.metrics.messagesSentByQos[delivery.qos]++;
    core.metrics.publishBytesSent += delivery.message.payload.length;
    if (core.hooks.hasDeliveredNotification) {
      core.hooks.notify('onDelivered', this.client.clientId, delivery.message);
    }
    return true;
  }

  sendPubrel(packetId: number): void {
    this.send({ type: 'pubrel', packetId });
  }

  /** Encodes and writes a packet in this connection's protocol version. */
  send(packet: Packet): void {
    if (this.closed) return;
    const version = this.version ?? 4;
    let bytes = encode(packet, version);
    const limit = this.peer.maximumPacketSize;
    if (bytes.length > limit && 'properties' in packet && packet.properties) {
      // [MQTT-3.1.2-25] drop reason string and user properties rather than exceed the maximum.
      const { reasonString, userProperties, ...rest } = packet.properties;
      bytes = encode({ ...packet, properties: rest } as Packet, version);
    }
    if (bytes.length > limit) {
      // [MQTT-3.1.2-24] never over the client's Maximum Packet Size: not sent at all. A control
      // packet the client waits for (SUBACK, UNSUBACK, AUTH...) cannot be left out without
      // stalling it, so the connection ends with DISCONNECT 0x95 (when even that fits).
      this.core.logger.info(
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
   * Sends an acknowledgement once the store has made durable what the step that produced it
   * wrote, in order with the others (commit-order.ts). `after` runs right after it is sent.
   * `wait`: what else it waits for (a publish's, ack-waits.ts; only with a store: a
   * subscriber that keeps a message in memory for a session adds one to keep it durable).
   * Returns what it waits for of its own (CommitOrder.ack), undefined when nothing.
   */
  sendAck(
    packet: Packet,
    mutationsBefore: number,
    after?: () => void,
    wait?: Promise<unknown>,
  ): Promise<unknown> | undefined {
    if (this.core.persistence === undefined) {
      this.send(packet); // nothing to wait for without a store
      after?.();
      return undefined;
    }
    return this.commitOrder().ack(packet, mutationsBefore, after, wait);
  }

  /**
   * A PUBACK with Success and no properties (every PUBACK of a 3.x client), as `sendAck`
   * sends it but without a packet object and the encoder's dispatch when there is no store
   * to wait for: once per QoS 1 publish (issue #17).
   */
  sendSuccessPuback(packetId: number, mutationsBefore: number, wait?: Promise<void>): void {
    // [MQTT-3.1.2-24] the 4 bytes still count against the client's Maximum Packet Size.
    if (this.core.persistence !== undefined || this.closed || this.peer.maximumPacketSize < 4) {
      const reasonCode = this.version === 5 ? ReasonCode.Success : undefined;
      this.sendAck({ type: 'puback', packetId, reasonCode }, mutationsBefore, undefined, wait);
      return;
    }
    this.writeBytes(encodeSuccessPuback(packetId));
  }

  writeBytes(bytes: Buffer): void {
    const metrics = this.core.metrics;
    metrics.bytesSent += bytes.length;
    metrics.packetsSent++;
    this.sink.write(bytes);
  }

  /** The output went over its bound: hold reading until it drains (output-backpressure.ts). */
  protected holdOutput(): void {
    if ((this.holds & HOLD_OUTPUT) !== 0 || this.closed) return;
    this.holds |= HOLD_OUTPUT;
    this.updateReading();
    (this.backpressure ??= new OutputBackpressure(this)).hold();
  }

  /** The connection ended: no more backpressure timers or callbacks. */
  protected stopOutput(): void {
    this.backpressure?.stop();
  }

  private commitOrder(): CommitOrder {
    const core = this.core;
    this.commits ??= new CommitOrder(this, core.persistence!, core.logger);
    return this.commits;
  }
}
