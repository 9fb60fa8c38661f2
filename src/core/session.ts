/**
 * Session: the state of one client id that outlives its network connections:
 * subscriptions, outbound inflight window, offline queue, inbound QoS 2 ids, packet ids.
 */
import type { Delivery } from './message.js';
import { isExpired } from './message.js';
import type { DropReason } from './metrics.js';
import type { Subscription } from './subscription.js';

/** What a session needs from the connection it is attached to. */
export interface DeliveryOutput {
  /** Outbound QoS 1/2 window: min(the client's Receive Maximum, our inflight limit). */
  readonly sendWindow: number;
  /** True while the socket holds more unsent bytes than allowed (QoS 0 is then dropped). */
  isCongested(): boolean;
  /** Writes a PUBLISH; false when it could not be sent (e.g. larger than the client's maximum). */
  sendPublish(
    delivery: Delivery,
    packetId: number | undefined,
    dup: boolean,
    cache?: FanoutCache,
  ): boolean;
  sendPubrel(packetId: number): void;
}

/** Encoded PUBLISH bytes shared across the subscribers of one fan-out, by wire form. */
export interface FanoutCache {
  slots: (Buffer | undefined)[];
}

/** State of one outbound QoS 1/2 message. */
export interface InflightEntry {
  readonly packetId: number;
  readonly delivery: Delivery;
  /** 'publish': PUBLISH sent, awaiting PUBACK/PUBREC; 'pubrel': PUBREL sent, awaiting PUBCOMP. */
  state: 'publish' | 'pubrel';
  /** Not yet resent on the current connection: its Receive Maximum was full at resume. */
  awaitingResend?: boolean;
}

/** What a session needs from the broker around it. */
export interface SessionEnvironment {
  now(): number;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly queueQos0Offline: boolean;
  /** Records a drop (counter, hook notification). */
  dropped(session: Session, delivery: Delivery, reason: DropReason): void;
}

/** Per client id state. */
export class Session {
  readonly clientId: string;
  /** The live connection, if the client is connected. */
  output: DeliveryOutput | undefined;
  /** Session Expiry Interval in seconds (0: ends with the connection; 0xFFFFFFFF: never). */
  expiryInterval = 0;
  /** Subscriptions by filter as subscribed. */
  readonly subscriptions = new Map<string, Subscription>();
  /** Outbound QoS 1/2 messages by packet id, in send order. */
  readonly inflight = new Map<number, InflightEntry>();
  /** Inbound QoS 2 packet ids received (PUBREC sent) and not yet released [MQTT-4.3.3-9]. */
  readonly inboundQos2 = new Set<number>();
  /** Deliveries waiting for the inflight window or for the client to come back. */
  private queue: Delivery[] = [];
  private queueHead = 0;
  private queuedBytesTotal = 0;
  private nextPacketId = 1;
  /** Inflight entries marked awaitingResend. */
  private resendBacklog = 0;

  // Scratch fields used by the router to merge overlapping matches of one publish
  // without allocating (see router.ts).
  matchStamp = 0;
  matchQos = 0;
  matchRetainAsPublished = false;
  matchSubscriptionIds: number[] | undefined = undefined;
  matchNoLocalOnly = false;

  constructor(
    clientId: string,
    private readonly env: SessionEnvironment,
  ) {
    this.clientId = clientId;
  }

  /** Number of queued deliveries. */
  get queuedCount(): number {
    return this.queue.length - this.queueHead;
  }

  /** Payload bytes queued. */
  get queuedBytes(): number {
    return this.queuedBytesTotal;
  }

  /** Takes one delivery: sends it now, queues it, or drops it (counted). */
  deliver(delivery: Delivery, cache?: FanoutCache): void {
    const out = this.output;
    if (out) {
      if (delivery.qos === 0) {
        if (out.isCongested()) this.env.dropped(this, delivery, 'socket-congested');
        else out.sendPublish(delivery, undefined, false, cache);
        return;
      }
      if (this.queuedCount === 0 && this.inflight.size < out.sendWindow) {
        this.sendWithId(out, delivery, cache);
        return;
      }
    } else if (delivery.qos === 0 && !this.env.queueQos0Offline) {
      this.env.dropped(this, delivery, 'offline-qos0');
      return;
    }
    this.enqueue(delivery);
  }

  /** Puts a delivery at the end of the queue, or drops it when the queue is full. */
  enqueue(delivery: Delivery): void {
    const size = delivery.message.payload.length;
    if (
      this.queuedCount >= this.env.maxQueuedMessages ||
      this.queuedBytesTotal + size > this.env.maxQueuedBytes
    ) {
      this.env.dropped(this, delivery, 'queue-full');
      return;
    }
    this.queue.push(delivery);
    this.queuedBytesTotal += size;
  }

  /** A PUBACK (QoS 1) or PUBCOMP (QoS 2) ended an exchange. Returns false for an unknown id. */
  complete(packetId: number, expected: 'publish' | 'pubrel'): boolean {
    const entry = this.inflight.get(packetId);
    if (!entry || entry.state !== expected) return false;
    this.inflight.delete(packetId);
    if (this.output) this.resendWaiting(this.output);
    this.drain();
    return true;
  }

  /** PUBREC received: move to PUBREL, or end the exchange if the receiver refused (reason >= 0x80). */
  received(packetId: number, refused: boolean): boolean {
    const entry = this.inflight.get(packetId);
    if (entry?.delivery.qos !== 2) return false;
    if (refused) {
      // [MQTT-4.3.3-4] (v5) a PUBREC with a failure reason ends the QoS 2 exchange.
      this.inflight.delete(packetId);
      if (this.output) this.resendWaiting(this.output);
      this.drain();
      return true;
    }
    entry.state = 'pubrel';
    this.output?.sendPubrel(packetId);
    return true;
  }

  /**
   * Attaches a new connection: resends unacknowledged PUBLISH with DUP set and PUBREL in
   * their original order [MQTT-4.4.0-1] [MQTT-4.6.0-1], then sends what was queued.
   */
  attach(output: DeliveryOutput): void {
    this.output = output;
    // [MQTT-3.3.4-9] the new connection's Receive Maximum may be lower than what is in
    // flight: resend up to it now, the rest as acknowledgements free slots.
    this.resendBacklog = 0;
    for (const entry of this.inflight.values()) {
      entry.awaitingResend = true;
      this.resendBacklog++;
    }
    this.resendWaiting(output);
    this.drain();
  }

  /** The connection went away; the session keeps its state. */
  detach(): void {
    this.output = undefined;
  }

  /** Sends queued deliveries while the inflight window has room. */
  drain(): void {
    const out = this.output;
    if (!out) return;
    const now = this.env.now();
    while (this.queueHead < this.queue.length && this.inflight.size < out.sendWindow) {
      const delivery = this.shiftQueue();
      if (isExpired(delivery.message, now)) {
        this.env.dropped(this, delivery, 'expired'); // [MQTT-3.3.2-5]
        continue;
      }
      if (delivery.qos === 0) out.sendPublish(delivery, undefined, false);
      else this.sendWithId(out, delivery);
    }
  }

  /**
   * Removes and returns the deliveries that came through shared subscriptions and have not
   * reached the client (queued, or PUBLISH sent but unacknowledged), so the router can give
   * them to another member of the group.
   */
  takeSharedDeliveries(): Delivery[] {
    const taken: Delivery[] = [];
    for (const [id, entry] of this.inflight) {
      if (entry.state === 'publish' && entry.delivery.shareFilter !== undefined) {
        this.inflight.delete(id);
        taken.push(entry.delivery);
      }
    }
    const kept: Delivery[] = [];
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const d = this.queue[i]!;
      if (d.shareFilter !== undefined) taken.push(d);
      else kept.push(d);
    }
    this.queue = kept;
    this.queueHead = 0;
    this.queuedBytesTotal = kept.reduce((n, d) => n + d.message.payload.length, 0);
    return taken;
  }

  /** Queued deliveries in order (for persistence and inspection). */
  queuedDeliveries(): Delivery[] {
    return this.queue.slice(this.queueHead);
  }

  /** Resends entries awaiting resend, in order, while the inflight window has room. */
  private resendWaiting(out: DeliveryOutput): void {
    if (this.resendBacklog === 0) return;
    let active = this.inflight.size - this.resendBacklog;
    for (const entry of this.inflight.values()) {
      if (active >= out.sendWindow || this.resendBacklog === 0) break;
      if (!entry.awaitingResend) continue;
      entry.awaitingResend = false;
      this.resendBacklog--;
      active++;
      if (entry.state === 'pubrel') out.sendPubrel(entry.packetId);
      else if (!out.sendPublish(entry.delivery, entry.packetId, true)) {
        this.inflight.delete(entry.packetId);
        active--;
      }
    }
  }

  private sendWithId(out: DeliveryOutput, delivery: Delivery, cache?: FanoutCache): void {
    const packetId = this.allocatePacketId();
    this.inflight.set(packetId, { packetId, delivery, state: 'publish' });
    if (!out.sendPublish(delivery, packetId, false, cache)) this.inflight.delete(packetId);
  }

  private shiftQueue(): Delivery {
    const delivery = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as unknown as Delivery;
    this.queueHead++;
    this.queuedBytesTotal -= delivery.message.payload.length;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return delivery;
  }

  /** A packet id not used by any inflight message [MQTT-2.2.1-3]. */
  private allocatePacketId(): number {
    let id = this.nextPacketId;
    while (this.inflight.has(id)) id = id === 65535 ? 1 : id + 1;
    this.nextPacketId = id === 65535 ? 1 : id + 1;
    return id;
  }
}
