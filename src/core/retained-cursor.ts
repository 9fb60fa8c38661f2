/**
 * The retained messages of a session's new subscriptions on their way to the client. They go
 * out as the client reads (the session sends them while the connection is not congested), so
 * 100,000 retained messages neither fill the socket's memory nor get dropped by the QoS 0
 * congestion policy. A cursor holds the matching messages as they were at SUBSCRIBE:
 * references to the retained store's own messages, no copies.
 */
import type { QoS } from '../protocol/index.js';
import type { Delivery, Message } from './message.js';

/** A position in the retained messages for one subscription. */
class RetainedCursor {
  private index = 0;

  constructor(
    private readonly messages: (Message | undefined)[],
    private readonly grantedQos: QoS,
    private readonly subscriptionIds: readonly number[] | undefined,
    /** Queue entries (by the session's shift count) that go out before these. */
    readonly after: number,
  ) {}

  get remaining(): number {
    return this.messages.length - this.index;
  }

  /** QoS of the next delivery: min(message QoS, granted QoS) [MQTT-3.8.4-8]. */
  nextQos(): QoS {
    // Not router.ts's minQos: the cursor (a part of the session) imports nothing that
    // imports the session.
    return Math.min(this.messages[this.index]!.qos, this.grantedQos) as QoS;
  }

  /**
   * The next delivery, with the RETAIN flag set [MQTT-3.3.1-8] (the cursor must not be
   * exhausted). The cursor lets go of the message, so what was sent can be freed.
   */
  take(): Delivery {
    const qos = this.nextQos();
    const message = this.messages[this.index]!;
    this.messages[this.index++] = undefined;
    return {
      message,
      qos,
      retain: true,
      subscriptionIds: this.subscriptionIds,
      shareFilter: undefined,
    };
  }
}

/** The retained messages waiting for one session, subscription after subscription. */
export class RetainedBacklog {
  private readonly cursors: RetainedCursor[] = [];
  /** Topics of deliveries queued behind the cursors (newer than their retained messages). */
  private newer: Set<string> | undefined;

  /**
   * Adds the messages of one subscription (`messages` is taken over; not empty), to go out
   * once `after` queue entries have been taken off the session's queue.
   */
  add(
    messages: Message[],
    grantedQos: QoS,
    subscriptionIds: readonly number[] | undefined,
    after: number,
  ): void {
    this.cursors.push(new RetainedCursor(messages, grantedQos, subscriptionIds, after));
  }

  /** True once every message was taken. */
  get empty(): boolean {
    return this.cursors.length === 0;
  }

  /** Messages not yet taken. */
  get remaining(): number {
    let count = 0;
    for (const cursor of this.cursors) count += cursor.remaining;
    return count;
  }

  /**
   * QoS of the next message when it is due, i.e. once `queueShifts` entries have left the
   * session's queue (those queued before its SUBSCRIBE); -1 when none is due.
   */
  nextDue(queueShifts: number): number {
    const head = this.cursors[0];
    return head !== undefined && queueShifts >= head.after ? head.nextQos() : -1;
  }

  /** Takes the next message (after {@link nextDue} said one is due). */
  take(): Delivery {
    const head = this.cursors[0]!;
    const delivery = head.take();
    if (head.remaining === 0) this.cursors.shift();
    return delivery;
  }

  /** A delivery routed after the SUBSCRIBE was queued behind the retained messages. */
  queuedBehind(topic: string): void {
    (this.newer ??= new Set()).add(topic);
  }

  /**
   * Takes every message left; `superseded` is true when a newer message on its topic was
   * queued behind it.
   */
  takeAll(visit: (delivery: Delivery, superseded: boolean) => void): void {
    for (const cursor of this.cursors) {
      while (cursor.remaining > 0) {
        const delivery = cursor.take();
        visit(delivery, this.newer?.has(delivery.message.topic) === true);
      }
    }
    this.cursors.length = 0;
  }
}
