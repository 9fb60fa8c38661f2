/**
 * The retained port in memory: a map by topic. `matchRetained` tests every topic against the
 * filter: this store is the durable stand-in for tests and embedding, while the broker
 * serves retained-on-subscribe from its own index (src/core/retained-index.ts).
 */
import type { RetainedLoad, StoredMessage } from '../../ports/index.js';
import { topicMatchesFilter } from '../../topic/index.js';
import { copyMessage } from '../shared/copy.js';
import type { MessageIds } from '../shared/message-ids.js';

const byTopic = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Retained messages held in a map (the memory store's retained port). */
export class MemoryRetained {
  private readonly retained = new Map<string, StoredMessage>();

  constructor(private readonly ids: MessageIds) {}

  putRetained(message: StoredMessage): void {
    this.ids.saw(message.id);
    this.retained.set(message.topic, copyMessage(message));
  }

  deleteRetained(topic: string): void {
    this.retained.delete(topic);
  }

  async matchRetained(filter: string, now: number): Promise<StoredMessage[]> {
    const found: StoredMessage[] = [];
    for (const [topic, message] of this.retained) {
      if (!topicMatchesFilter(topic, filter)) continue;
      if (message.expiresAt !== undefined && message.expiresAt <= now) {
        this.retained.delete(topic);
      } else {
        found.push(copyMessage(message));
      }
    }
    return found.sort((a, b) => byTopic(a.topic, b.topic));
  }

  async loadRetained(
    now: number,
    accept: (message: StoredMessage) => boolean,
  ): Promise<RetainedLoad> {
    const result: RetainedLoad = { restored: 0, expired: 0, dropped: 0 };
    const topics = [...this.retained.keys()].sort(byTopic);
    let refused = false;
    for (const topic of topics) {
      const message = this.retained.get(topic)!;
      if (message.expiresAt !== undefined && message.expiresAt <= now) {
        this.retained.delete(topic);
        result.expired++;
      } else if (refused || !accept(copyMessage(message))) {
        refused = true;
        this.retained.delete(topic);
        result.dropped++;
      } else {
        result.restored++;
      }
    }
    return result;
  }

  /** Number of retained messages stored. */
  countRetained(): number {
    return this.retained.size;
  }
}
