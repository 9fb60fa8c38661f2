/**
 * Session: the state of one client id that outlives its network connections:
 * subscriptions, outbound inflight window, offline queue, inbound QoS 2 ids, packet ids.
 * A session is the router's local subscriber (subscriber.ts).
 */
import type { QoS } from '../protocol/index.js';
import type { DeliveryOutput } from './delivery-output.js';
import type { InflightEntry } from './inflight.js';
import { InflightWindow } from './inflight.js';
import type { Delivery, Message } from './message.js';
import { isExpired } from './message.js';
import type { Persistence } from './persistence.js';
import { RetainedBacklog } from './retained-cursor.js';
import { SessionQueue } from './session-queue.js';
import type { FanoutCache, Subscriber } from './subscriber.js';

export type { DeliveryOutput } from './delivery-output.js';
export type { InflightEntry } from './inflight.js';
export type { SessionEnvironment } from './session-environment.js';
export type { FanoutCache } from './subscriber.js';

/**
 * Most deliveries one drain sends in one go. A drain can have 100,000 retained messages to
 * send; in one synchronous loop that held the event loop for a third of a second while the
 * kernel took megabytes. After a batch the session waits for the transport (a later turn).
 */
const DRAIN_BATCH = 1024;

/**
 * Per client id state: what it holds (SessionRecord), where its deliveries wait
 * (SessionQueue), and the messages on their way to it.
 */
export class Session extends SessionQueue implements Subscriber {
  /** The live connection, if the client is connected here (it also holds the session). */
  output: DeliveryOutput | undefined;
  // Created on first use: an idle session holds none of them.
  private outbound: InflightWindow | undefined;
  /** Retained messages of new subscriptions still to be sent (while there are any). */
  private retained: RetainedBacklog | undefined;
  /** Deliveries taken off the queue so far: retained messages go after those queued before. */
  private queueShifts = 0;

  // Scratch fields used by the router to merge overlapping matches of one publish
  // without allocating (see router.ts).
  matchStamp = 0;
  matchQos = 0;
  matchRetainAsPublished = false;
  matchSubscriptionIds: number[] | undefined = undefined;

  /** The router's key for its subscriptions: the client id. */
  get subscriberId(): string {
    return this.clientId;
  }

  /** Connected here: a shared group prefers it to offline members. */
  get online(): boolean {
    return this.output !== undefined;
  }

  /** Outbound QoS 1/2 messages by packet id, in send order. */
  get inflight(): ReadonlyMap<number, InflightEntry> {
    return this.window().asMap();
  }

  /** Outbound QoS 1/2 messages in flight (without creating the map). */
  get inflightCount(): number {
    return this.outbound?.size ?? 0;
  }

  /**
   * Makes the session persistent: its queue moves to the store (`count`/`bytes` describe
   * what the store already holds for it, after a restart).
   */
  persistTo(persistence: Persistence, storedCount = 0, storedBytes = 0): void {
    if (this.persistence) return;
    this.persistence = persistence;
    this.queueToStore(persistence, storedCount, storedBytes);
    this.outbound?.persistAll(persistence);
    this.persistInboundQos2(persistence);
  }

  /** Restores an inflight entry read from the store (resent on the next attach). */
  restoreInflight(entry: InflightEntry): void {
    this.window().restore(entry);
  }

  /** Takes one delivery: sends it now, queues it, or drops it (counted). */
  deliver(delivery: Delivery, cache?: FanoutCache): void {
    const out = this.output;
    if (out !== undefined && this.retained === undefined) {
      if (delivery.qos === 0) {
        if (out.isCongested() && !out.admitsQos0OverBound()) {
          this.env.dropped(this, delivery, 'socket-congested');
          return;
        }
        out.sendPublish(delivery, undefined, false, cache);
        return;
      }
      // QoS 1/2 waits in the queue (holding the shared message, not an encoded copy) while
      // the inflight window is full or the output congested; outputReady() sends it later.
      if (this.queuedCount === 0 && this.inflightCount < out.sendWindow && !out.isCongested()) {
        this.sendWithId(out, delivery, cache);
        return;
      }
    } else if (out === undefined) {
      if (delivery.qos === 0 && !this.env.queueQos0Offline) {
        this.env.dropped(this, delivery, 'offline-qos0');
        return;
      }
    } else {
      // Retained messages of a new subscription are going out: what is routed after the
      // SUBSCRIBE waits behind them, so a live message never overtakes the retained one of
      // its topic [MQTT-4.6.0-6].
      this.retained!.queuedBehind(delivery.message.topic);
    }
    this.enqueue(delivery);
  }

  /**
   * A PUBACK (QoS 1, `expected` 'publish') or PUBCOMP (QoS 2, 'pubrel') ended an exchange.
   * Returns false for an unknown id or one in another state (a PUBACK for a QoS 2 message).
   */
  complete(packetId: number, expected: 'publish' | 'pubrel'): boolean {
    const entry = this.outbound?.get(packetId);
    if (!entry || entry.state !== expected) return false;
    if (expected === 'publish' && entry.delivery.qos !== 1) return false;
    this.outbound!.end(entry);
    if (this.output) this.resendWaiting(this.output);
    this.drain();
    return true;
  }

  /** PUBREC received: move to PUBREL, or end the exchange if the receiver refused (reason >= 0x80). */
  received(packetId: number, refused: boolean): boolean {
    const entry = this.outbound?.get(packetId);
    if (entry?.delivery.qos !== 2) return false;
    if (refused) {
      // [MQTT-4.3.3-4] (v5) a PUBREC with a failure reason ends the QoS 2 exchange.
      this.outbound!.end(entry);
      if (this.output) this.resendWaiting(this.output);
      this.drain();
      return true;
    }
    this.outbound!.released(entry);
    const out = this.output;
    // Once PUBREL is sent the PUBLISH must never be resent [MQTT-4.3.3-6]: not before the
    // 'pubrel' state is durable, or a crash would resend it to a receiver that has released it.
    if (out) this.outbound!.whenDurable(out, entry, () => out.sendPubrel(packetId));
    return true;
  }

  /**
   * Attaches a new connection: resends unacknowledged PUBLISH with DUP set and PUBREL in
   * their original order [MQTT-4.4.0-1] [MQTT-4.6.0-1], then sends what was queued.
   */
  attach(output: DeliveryOutput): void {
    this.output = output;
    this.queue.attached();
    // [MQTT-3.3.4-9] the new connection's Receive Maximum may be lower than what is in
    // flight: resend up to it now, the rest as acknowledgements free slots.
    this.outbound?.markAllForResend();
    this.resendWaiting(output);
    this.drain();
  }

  /** The connection went away; the session keeps its state. */
  detach(): void {
    this.output = undefined;
    this.queue.detached();
    this.parkRetained();
  }

  /**
   * Starts sending the retained messages of a new subscription (`messages`, taken over):
   * after the deliveries queued before it, before those routed after it, and only as fast
   * as the client reads.
   */
  sendRetained(messages: Message[], grantedQos: QoS, subscriptionIds: number[] | undefined): void {
    if (messages.length === 0 || this.output === undefined) return;
    this.retained ??= new RetainedBacklog();
    this.retained.add(messages, grantedQos, subscriptionIds, this.queueShifts + this.queue.count);
    this.drain();
  }

  /** Retained messages of new subscriptions not yet sent. */
  get retainedBacklog(): number {
    return this.retained?.remaining ?? 0;
  }

  /** The output drained after it was congested: resend and send what waited. */
  outputReady(): void {
    const out = this.output;
    if (out === undefined) return;
    this.resendWaiting(out);
    this.drain();
  }

  /**
   * Sends what waits, in order, while the output takes it: queued deliveries while the
   * inflight window has room, and the retained messages of new subscriptions once what was
   * queued before them is out. Stops when the output is congested (it calls outputReady()
   * once drained) or the window is full (a PUBACK or PUBCOMP drains again).
   */
  drain(): void {
    const out = this.output;
    // Every PUBACK drains: with nothing waiting, skip the clock read (a cost in the profile).
    if (!out || (this.queue.count === 0 && this.retained === undefined)) return;
    const now = this.env.now();
    for (let sent = 0; !out.isCongested(); sent++) {
      if (sent === DRAIN_BATCH) {
        out.sendLater();
        return;
      }
      const retained = this.retained;
      const retainedQos = retained === undefined ? -1 : retained.nextDue(this.queueShifts);
      if (retainedQos >= 0) {
        if (retainedQos > 0 && this.inflightCount >= out.sendWindow) return;
        this.sendDelivery(out, retained!.take());
        if (retained!.empty) this.retained = undefined;
        continue;
      }
      if (this.queue.count === 0 || this.inflightCount >= out.sendWindow) return;
      const delivery = this.queue.shift();
      if (delivery === undefined) {
        this.pageIn();
        return;
      }
      this.queueShifts++;
      if (isExpired(delivery.message, now)) {
        this.env.dropped(this, delivery, 'expired'); // [MQTT-3.3.2-5]
        continue;
      }
      this.sendDelivery(out, delivery);
    }
  }

  /** Sends a delivery that waited: QoS 0 as it is, QoS 1/2 with a packet id. */
  private sendDelivery(out: DeliveryOutput, delivery: Delivery): void {
    if (delivery.qos === 0) out.sendPublish(delivery, undefined, false);
    else this.sendWithId(out, delivery);
  }

  /**
   * The client left while retained messages were still going out. A session that ends with
   * its connection keeps nothing. Otherwise each one takes the way of a message routed while
   * the client is away (QoS 1/2 queued, QoS 0 dropped unless queued offline), except where a
   * newer message on its topic is queued already: sending the older one after it would break
   * the topic's order [MQTT-4.6.0-6], so it is dropped (counted as superseded by that one).
   */
  private parkRetained(): void {
    const retained = this.retained;
    this.retained = undefined;
    if (retained === undefined || this.expiryInterval === 0) return;
    retained.takeAll((delivery, superseded) => {
      if (superseded) this.env.dropped(this, delivery, 'retained-backlog');
      else this.deliver(delivery);
    });
  }

  /**
   * Removes and returns the deliveries that came through shared subscriptions and have not
   * reached the client (queued, or PUBLISH sent but unacknowledged), so the router can give
   * them to another member of the group.
   */
  takeSharedDeliveries(): Delivery[] {
    const taken: Delivery[] = [];
    this.outbound?.takeShared(taken);
    for (const delivery of this.queue.takeShared()) taken.push(delivery);
    return taken;
  }

  /** Resends entries awaiting resend, in order, while the inflight window has room. */
  private resendWaiting(out: DeliveryOutput): void {
    this.outbound?.resendWaiting(out);
  }

  private sendWithId(out: DeliveryOutput, delivery: Delivery, cache?: FanoutCache): void {
    // Written to the store with the entry (inflight.ts).
    const window = this.window();
    const entry = window.open(delivery);
    // A QoS 2 receiver holds the packet id until PUBREL [MQTT-4.3.3-10]: if a crash made the
    // broker forget a PUBLISH already sent, it would reuse the id and the receiver would drop
    // the new message as a repeat. The output writes no copy of a QoS 2 message before the
    // store's next commit (Connection.sendPublish), which includes this inflight entry.
    if (!out.sendPublish(delivery, entry.packetId, false, cache)) window.end(entry);
  }

  /**
   * Reads the next stored page, then drains again. A failed read (the store unreachable for a
   * while) is tried again by the environment's retry: nothing else would drain a connected
   * session with nothing in flight, whose new deliveries queue behind the page.
   */
  private pageIn(): void {
    const loading = this.queue.page();
    if (!loading) return;
    loading.then(
      (loaded) => {
        if (loaded) this.drain();
      },
      (err: unknown) => this.env.failed(this, err, () => this.drain()),
    );
  }

  /** The inflight window, made on first use. */
  private window(): InflightWindow {
    this.outbound ??= new InflightWindow(this);
    return this.outbound;
  }
}
