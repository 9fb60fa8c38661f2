/**
 * Retained messages cluster-wide, over the store the nodes share (the Redis store). Every
 * node writes its retained messages through to the store, as on one node, and serves
 * retained-on-subscribe from its own in-memory index. That index learns of the other nodes'
 * writes here:
 * - a node collects the topics its clients (or the host) set or cleared during one
 *   event-loop turn and, once the store has committed them, announces them in one message on
 *   the `retained` channel;
 * - a node that hears an announcement (batched per turn too) reads each topic from the store
 *   (one HGET each, pipelined) and holds what it finds, or drops the topic, without writing
 *   the store back;
 * - when its pub/sub connection comes back (announcements may have been missed), it reads
 *   every retained message again and drops those the store no longer has.
 */

import { type BrokerCore, restoreMessage } from '../core/index.js';
import type { Logger, RetainedStore, StoredMessage } from '../ports/index.js';
import { publish, type RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import { MalformedInput } from './malformed.js';
import { nodeIdField, optionalStringList, parseJsonObject } from './wire-checks.js';

/** An announcement on the `retained` channel. */
interface RetainedAnnouncement {
  node: number;
  topics: string[];
}

/** What a reload did (logged). */
type ReloadCounts = {
  held: number;
  dropped: number;
};

/** Keeps this node's retained index in step with the shared store. */
export class RetainedSync {
  /** Topics changed here this turn, to announce. */
  private readonly changed = new Set<string>();
  /** Topics other nodes changed, to read. */
  private readonly heard = new Set<string>();
  private announcing = false;
  private reading = false;
  /** Announcements heard and topics read (tests, status). */
  readonly counters = { announced: 0, heard: 0, reloads: 0 };

  constructor(
    private readonly core: BrokerCore,
    private readonly store: RetainedStore,
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly logger: Logger,
    private readonly nodeId: () => number,
    private readonly malformed: MalformedInput,
  ) {
    core.retained.observe((topic) => this.change(topic));
  }

  /** A message on the `retained` channel. */
  apply(text: string): void {
    let announcement: RetainedAnnouncement;
    try {
      const m = parseJsonObject(text);
      const topics = optionalStringList(m.topics, 'topics');
      if (topics === undefined) throw new Error('topics is missing');
      announcement = { node: nodeIdField(m.node, 'node'), topics };
    } catch (err) {
      this.malformed.note('retained', (err as Error).message, {
        text: MalformedInput.sample(text),
      });
      return;
    }
    if (announcement.node === this.nodeId()) return;
    this.counters.heard++;
    for (const topic of announcement.topics) {
      if (typeof topic === 'string') this.heard.add(topic);
    }
    if (!this.reading) {
      this.reading = true;
      setImmediate(() => void this.readHeard());
    }
  }

  /**
   * Reads every retained message of the store again and drops from the index those it no
   * longer has (the pub/sub connection came back: announcements may have been missed).
   */
  async reload(): Promise<void> {
    const now = this.core.clock.now();
    try {
      // Every topic, `$`-topics included (a '#' filter would leave those out); the store's own
      // expiry cleanup runs as at start. `$SYS` is each node's own and never in the store.
      const stored: StoredMessage[] = [];
      await this.store.loadRetained(now, (message) => stored.push(message) > 0);
      const counts = this.replaceAll(stored.map(restoreMessage));
      this.counters.reloads++;
      this.logger.info(counts, 'cluster: retained messages read again from the store');
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'cluster: reading the retained messages failed');
    }
  }

  private replaceAll(messages: ReturnType<typeof restoreMessage>[]): ReloadCounts {
    const retained = this.core.retained;
    const inStore = new Set<string>();
    for (const message of messages) {
      inStore.add(message.topic);
      retained.applyShared(message.topic, message);
    }
    let dropped = 0;
    // all() leaves out $SYS, the node's own: everything else is the store's to say.
    for (const message of retained.all()) {
      if (inStore.has(message.topic)) continue;
      retained.applyShared(message.topic, undefined);
      dropped++;
    }
    return { held: inStore.size, dropped };
  }

  private change(topic: string): void {
    this.changed.add(topic);
    if (this.announcing) return;
    this.announcing = true;
    setImmediate(() => void this.announce());
  }

  /** Announces this turn's topics once the store has them (an announcement read too early would read the old value). */
  private async announce(): Promise<void> {
    const topics = [...this.changed];
    this.changed.clear();
    this.announcing = false;
    try {
      await this.core.persistence?.commit();
      const announcement: RetainedAnnouncement = { node: this.nodeId(), topics };
      await publish(this.redis, this.keys.retainedChanges, JSON.stringify(announcement));
      this.counters.announced++;
    } catch (err) {
      // The others read everything again when their connection to Redis comes back.
      this.logger.warn(
        { err: String(err), topics: topics.length },
        'cluster: announcing retained changes failed',
      );
    }
  }

  private async readHeard(): Promise<void> {
    const topics = [...this.heard];
    this.heard.clear();
    this.reading = false;
    const now = this.core.clock.now();
    try {
      const found = await Promise.all(topics.map((topic) => this.store.matchRetained(topic, now)));
      topics.forEach((topic, i) => {
        const stored = found[i]![0];
        this.core.retained.applyShared(
          topic,
          stored === undefined ? undefined : restoreMessage(stored),
        );
      });
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'cluster: reading retained changes failed');
    }
  }
}
