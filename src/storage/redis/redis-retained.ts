/**
 * The retained port of the Redis store: a hash topic -> message, and a sorted set of the
 * topics (all scores 0, so it orders them by their bytes, as the port's "topic order" is).
 *
 * `matchRetained(filter)` costs: a filter without wildcards, one HGET; one with a literal
 * part before its first wildcard (`a/b/+/c`), a ZRANGEBYLEX over the topics from `a/b` up to
 * `a/b0` ('0' follows '/'): O(log N + topics under `a/b`), read in pages with their bodies;
 * a filter that starts with a wildcard reads every topic, in pages. Every candidate is then
 * tested against the filter. Expired messages are deleted in the current batch, but only if
 * still the message read (a script compares them), so a newer one is never lost.
 */
import type { RetainedLoad, StoredMessage } from '../../ports/index.js';
import { topicMatchesFilter } from '../../topic/index.js';
import { decodeMessage, encodeMessage } from './redis-codec.js';
import type { RedisContext } from './redis-context.js';

/** Topics read per round trip. */
const PAGE = 500;

/** A stored retained message as read: its topic, its stored bytes and the message. */
interface Row {
  topic: string;
  bytes: Buffer;
  message: StoredMessage;
}

/** Retained messages by topic. */
export class RedisRetained {
  constructor(private readonly ctx: RedisContext) {}

  putRetained(message: StoredMessage): void {
    const { batcher } = this.ctx.conn();
    this.ctx.ids.saw(message.id);
    const keys = this.ctx.keys;
    batcher.add({ name: 'hset', args: [keys.retained, message.topic, encodeMessage(message)] });
    batcher.add({ name: 'zadd', args: [keys.retainedTopics, 0, message.topic] });
  }

  deleteRetained(topic: string): void {
    const { batcher } = this.ctx.conn();
    batcher.add({ name: 'hdel', args: [this.ctx.keys.retained, topic] });
    batcher.add({ name: 'zrem', args: [this.ctx.keys.retainedTopics, topic] });
  }

  async matchRetained(filter: string, now: number): Promise<StoredMessage[]> {
    this.ctx.conn().batcher.flush();
    const found: StoredMessage[] = [];
    const wildcard = firstWildcard(filter);
    if (wildcard === -1) {
      await this.visit([filter], (row) => this.keepLive(row, now, found));
      return found;
    }
    const literal = wildcard === 0 ? undefined : filter.slice(0, wildcard - 1);
    const min = literal === undefined ? '-' : `[${literal}`;
    const max = literal === undefined ? '+' : `(${literal}0`;
    await this.scan(min, max, (row) => {
      if (topicMatchesFilter(row.topic, filter)) this.keepLive(row, now, found);
      return true;
    });
    return found;
  }

  async loadRetained(
    now: number,
    accept: (message: StoredMessage) => boolean,
  ): Promise<RetainedLoad> {
    this.ctx.conn().batcher.flush();
    const result: RetainedLoad = { restored: 0, expired: 0, dropped: 0 };
    let refused = false;
    await this.scan('-', '+', (row) => {
      if (isExpired(row.message, now)) {
        this.deleteIfSame(row);
        result.expired++;
      } else if (refused || !accept(row.message)) {
        // From the first refused one on, everything goes: the broker starts within its budget.
        refused = true;
        this.deleteIfSame(row);
        result.dropped++;
      } else {
        result.restored++;
      }
      return true;
    });
    return result;
  }

  private keepLive(row: Row, now: number, into: StoredMessage[]): boolean {
    if (isExpired(row.message, now)) this.deleteIfSame(row);
    else into.push(row.message);
    return true;
  }

  private deleteIfSame(row: Row): void {
    const keys = this.ctx.keys;
    this.ctx.conn().batcher.add({
      name: 'pipitDeleteRetainedIfSame',
      args: [keys.retained, keys.retainedTopics, row.topic, row.bytes],
    });
  }

  /** Reads the topics in [min, max] (ZRANGEBYLEX bounds) in pages, in order, with bodies. */
  private async scan(min: string, max: string, visit: (row: Row) => boolean): Promise<void> {
    const { client } = this.ctx.conn();
    let from = min;
    for (;;) {
      const topics = await client.zrangebylex(
        this.ctx.keys.retainedTopics,
        from,
        max,
        'LIMIT',
        0,
        PAGE,
      );
      if (topics.length === 0) return;
      await this.visit(topics, visit);
      if (topics.length < PAGE) return;
      from = `(${topics[topics.length - 1]}`;
    }
  }

  /** Reads the bodies of `topics` and visits those that exist, in the order given. */
  private async visit(topics: string[], visit: (row: Row) => boolean): Promise<void> {
    const { client } = this.ctx.conn();
    const bodies = await client.hmgetBuffer(this.ctx.keys.retained, ...topics);
    topics.forEach((topic, i) => {
      const bytes = bodies[i];
      if (bytes !== null) visit({ topic, bytes, message: decodeMessage(bytes) });
    });
  }
}

function isExpired(message: StoredMessage, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}

/** Index of the first '+' or '#' level of a valid filter, -1 when it has none. */
function firstWildcard(filter: string): number {
  const plus = filter.indexOf('+');
  const hash = filter.indexOf('#');
  if (plus === -1) return hash;
  return hash === -1 ? plus : Math.min(plus, hash);
}
