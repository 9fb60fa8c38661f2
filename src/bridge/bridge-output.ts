/**
 * The output of a bridge's local session: where the session sends the messages its
 * subscriptions (the `out` rules) match, as it would to a client's connection. Each PUBLISH
 * goes to the remote under the session's own packet id, so the session's inflight window
 * (stored with the session) is the bridge's outgoing window: a message leaves the session's
 * store only once the remote acknowledged it (PUBACK, or PUBCOMP for QoS 2), and after a
 * reconnect or a restart the session resends what was not acknowledged [MQTT-4.4.0-1].
 */
import type { MqttClient } from '../client/index.js';
import type { Delivery, DeliveryOutput, Session } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type {
  Packet,
  Properties,
  PubackPacket,
  PubcompPacket,
  PublishPacket,
  PubrecPacket,
} from '../protocol/index.js';
import { encode } from '../protocol/index.js';
import type { BridgeCounters } from './bridge-counters.js';
import type { TopicRules } from './topic-rules.js';

/** Unsent bytes above which the output is congested (QoS 0 dropped, QoS 1/2 wait). */
const HIGH_WATER_BYTES = 1024 * 1024;
/** Packets waiting for the store's commit above which the output is congested. */
const MAX_WAITING_PACKETS = 4096;

/** What the output needs around it. */
export interface BridgeOutputParts {
  readonly client: MqttClient;
  readonly session: Session;
  readonly rules: TopicRules;
  readonly counters: BridgeCounters;
  /** The store's commit, when the broker has a store. */
  readonly commit: (() => Promise<void>) | undefined;
  /** Most QoS 1/2 messages in flight to the remote. */
  readonly maxInflight: number;
  readonly now: () => number;
  /** A client claimed the session (refused at CONNECT, so only defensive). */
  readonly onTakeOver: () => void;
  readonly logger: Logger;
}

/** One connection to the remote, as the session's output. */
export class BridgeOutput implements DeliveryOutput {
  readonly sendWindow: number;
  /**
   * Packets (each followed by its bytes) written only after the store committed what was
   * stored before them.
   */
  private waiting: (Packet | Buffer)[] = [];
  private flushing = false;
  private congestedSeen = false;
  private readonly v5: boolean;

  constructor(private readonly parts: BridgeOutputParts) {
    const receiveMaximum = parts.client.connack?.properties?.receiveMaximum ?? 65535;
    this.sendWindow = Math.min(parts.maxInflight, receiveMaximum);
    this.v5 = parts.client.protocolVersion === 5;
    parts.client.on('drain', () => this.ready());
    parts.client.on('ack', (ack) => this.acknowledged(ack));
  }

  /** The remote's QoS 0 messages are dropped while congested: no publisher is held for it. */
  admitsQos0OverBound(): boolean {
    return false;
  }

  isCongested(): boolean {
    const congested =
      this.parts.client.writableLength > HIGH_WATER_BYTES ||
      this.waiting.length >= 2 * MAX_WAITING_PACKETS;
    if (congested) this.congestedSeen = true;
    return congested;
  }

  /**
   * Writes the PUBLISH of a delivery, on its remote topic. False, and the message is dropped
   * (counted, logged), when no rule maps its topic or the remote cannot take it (larger than
   * its Maximum Packet Size, or not encodable in its protocol version).
   */
  sendPublish(delivery: Delivery, packetId: number | undefined, dup: boolean): boolean {
    const { client, counters } = this.parts;
    const message = delivery.message;
    const topic = this.parts.rules.toRemote(message.topic);
    if (topic === undefined) {
      counters.unmapped++;
      return false;
    }
    const packet: PublishPacket = {
      type: 'publish',
      topic,
      payload: message.payload,
      qos: delivery.qos,
      retain: delivery.retain,
      dup,
      packetId,
      properties: this.v5 ? this.properties(message.properties, message.expiresAt) : undefined,
    };
    let bytes: Buffer;
    try {
      bytes = encode(packet, client.protocolVersion);
      const max = client.serverMaximumPacketSize;
      if (max !== undefined && bytes.length > max) {
        throw new Error(`${bytes.length} bytes, over the remote's Maximum Packet Size ${max}`);
      }
    } catch (err) {
      counters.unsendable++;
      this.parts.logger.warn({ topic, err }, 'bridge: a message the remote cannot take is dropped');
      return false;
    }
    this.write(packet, bytes);
    if (delivery.qos === 0) counters.messagesOut++;
    return true;
  }

  sendPubrel(packetId: number): void {
    const packet: Packet = { type: 'pubrel', packetId };
    this.write(packet, encode(packet, this.parts.client.protocolVersion));
  }

  sendLater(): void {
    setTimeout(() => this.parts.session.outputReady(), 0);
  }

  takeOver(): void {
    this.parts.onTakeOver();
  }

  /** The remote acknowledged a PUBLISH or PUBREL of the session. */
  private acknowledged(ack: PubackPacket | PubrecPacket | PubcompPacket): void {
    const { session, counters } = this.parts;
    const refused = (ack.reasonCode ?? 0) >= 0x80;
    if (refused) counters.refusedByRemote++;
    if (ack.type === 'pubrec') {
      // [MQTT-4.3.3-1] PUBREL follows (once the 'pubrel' state is stored); a v5 failure ends it.
      session.received(ack.packetId, refused);
      return;
    }
    if (session.complete(ack.packetId, ack.type === 'puback' ? 'publish' : 'pubrel')) {
      if (!refused) counters.messagesOut++;
    }
  }

  /**
   * Writes in order; with a store, only after its next commit: the inflight entry written
   * for a QoS 1/2 PUBLISH must be durable before the remote can hold its packet id
   * (a restart would otherwise reuse the id for another message).
   */
  private write(packet: Packet, bytes: Buffer): void {
    const commit = this.parts.commit;
    if (commit === undefined) {
      if (!this.parts.client.sendPacket(packet, bytes)) this.congestedSeen = true;
      return;
    }
    this.waiting.push(packet, bytes);
    if (this.flushing) return;
    this.flushing = true;
    const flush = (): void => this.flush();
    commit().then(flush, flush);
  }

  private flush(): void {
    this.flushing = false;
    const waiting = this.waiting;
    this.waiting = [];
    const client = this.parts.client;
    if (!client.connected) return; // the session resends what matters on the next connection
    for (let i = 0; i < waiting.length; i += 2) {
      client.sendPacket(waiting[i] as Packet, waiting[i + 1] as Buffer);
    }
    this.ready();
  }

  /** The socket drained or the waiting packets went out: the session may send again. */
  private ready(): void {
    if (!this.congestedSeen || this.isCongested()) return;
    this.congestedSeen = false;
    if (this.parts.session.output === this) this.parts.session.outputReady();
  }

  /** MQTT 5 properties of a forwarded message: as published, with the expiry remaining. */
  private properties(
    properties: Properties | undefined,
    expiresAt: number | undefined,
  ): Properties | undefined {
    if (expiresAt === undefined) return properties;
    const remaining = Math.max(1, Math.ceil((expiresAt - this.parts.now()) / 1000));
    return { ...properties, messageExpiryInterval: remaining };
  }
}
