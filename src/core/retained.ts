/**
 * Retained messages, one per topic, in a topic tree that walks only the branches a filter
 * can match.
 */
import { TopicTree } from '../topic/index.js';
import type { Message } from './message.js';
import { detachPayload, isExpired } from './message.js';
import type { Persistence } from './persistence.js';

/** Why {@link RetainedMessages.set} refused a message. */
export type RetainRefusal = 'retained-limit' | 'retained-bytes';

/** The in-memory retained message set. */
export class RetainedMessages {
  private readonly tree = new TopicTree<Message>();
  /** Sum of the payload sizes held (for `maxRetainedBytes`). */
  private payloadBytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly persistence?: Persistence | undefined,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** Puts back a message read from the store (not written again, never refused). */
  restore(message: Message): void {
    const old = this.tree.get(message.topic);
    this.payloadBytes += message.payload.length - (old?.payload.length ?? 0);
    this.tree.set(message.topic, message);
  }

  get size(): number {
    return this.tree.size;
  }

  /** Total payload bytes of the retained messages. */
  get bytes(): number {
    return this.payloadBytes;
  }

  /**
   * Stores, replaces [MQTT-3.3.1-5], or clears with an empty payload [MQTT-3.3.1-10]
   * [MQTT-3.3.1-11]. Returns true, or why the message was refused: a new topic past
   * `maxMessages`, or a payload that would take the total past `maxBytes`. A replacement
   * refused for size removes the older message too: a stale value is worse than none.
   */
  set(message: Message): true | RetainRefusal {
    const old = this.tree.get(message.topic);
    if (message.payload.length === 0) {
      if (old !== undefined) this.remove(message.topic, old);
      return true;
    }
    if (old === undefined && this.tree.size >= this.maxMessages) return 'retained-limit';
    const total = this.payloadBytes - (old?.payload.length ?? 0) + message.payload.length;
    if (total > this.maxBytes) {
      if (old !== undefined) this.remove(message.topic, old);
      return 'retained-bytes';
    }
    this.payloadBytes = total;
    this.tree.set(message.topic, detachPayload(message));
    this.persistence?.putRetained(message);
    return true;
  }

  private remove(topic: string, old: Message): void {
    this.tree.delete(topic);
    this.payloadBytes -= old.payload.length;
    this.persistence?.deleteRetained(topic);
  }

  /** Live retained messages matching `filter`; expired ones are removed on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const found: Message[] = [];
    const expired: Message[] = [];
    this.tree.matchFilter(filter, (_topic, message) => {
      if (isExpired(message, now)) expired.push(message);
      else found.push(message);
    });
    for (const message of expired) this.remove(message.topic, message);
    return found;
  }

  /** Every retained message (for persistence and inspection). */
  all(): Message[] {
    return [...this.tree.entries()].map(([, m]) => m);
  }
}
