/**
 * Retained messages, one per topic, in a topic tree that walks only the branches a filter
 * can match.
 */
import { TopicTree } from '../topic/index.js';
import type { Message } from './message.js';
import { isExpired } from './message.js';
import type { Persistence } from './persistence.js';

/** The in-memory retained message set. */
export class RetainedMessages {
  private readonly tree = new TopicTree<Message>();

  constructor(
    private readonly maxMessages: number,
    private readonly persistence?: Persistence | undefined,
  ) {}

  /** Puts back a message read from the store (not written again). */
  restore(message: Message): void {
    this.tree.set(message.topic, message);
  }

  get size(): number {
    return this.tree.size;
  }

  /**
   * Stores, replaces [MQTT-3.3.1-5], or clears with an empty payload [MQTT-3.3.1-10]
   * [MQTT-3.3.1-11]. Returns false when a new topic is refused because the store is full.
   */
  set(message: Message): boolean {
    if (message.payload.length === 0) {
      if (this.tree.delete(message.topic)) this.persistence?.deleteRetained(message.topic);
      return true;
    }
    if (this.tree.size >= this.maxMessages && this.tree.get(message.topic) === undefined) {
      return false;
    }
    this.tree.set(message.topic, message);
    this.persistence?.putRetained(message);
    return true;
  }

  /** Live retained messages matching `filter`; expired ones are removed on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const found: Message[] = [];
    const expired: string[] = [];
    this.tree.matchFilter(filter, (topic, message) => {
      if (isExpired(message, now)) expired.push(topic);
      else found.push(message);
    });
    for (const topic of expired) {
      this.tree.delete(topic);
      this.persistence?.deleteRetained(topic);
    }
    return found;
  }

  /** Every retained message (for persistence and inspection). */
  all(): Message[] {
    return [...this.tree.entries()].map(([, m]) => m);
  }
}
