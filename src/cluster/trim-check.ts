/**
 * Whether an inbox lost entries that a reader still needed to the senders' cap (`XADD ...
 * MAXLEN ~ <cluster.inboxMaxLength>`, outbox.ts): entries not read yet, or the entries a
 * stand-in's pin keeps for a survivor to read again (parked-position.ts). The cap bounds
 * Redis memory, so it may have to drop entries (a reader far behind, a long move under heavy
 * traffic); it must not drop them silently.
 *
 * How it is told: the cap trims the head of the stream, oldest first, so an entry is gone
 * only if every entry before it is gone too; and the reader's own trims (`XTRIM MINID p`)
 * keep `p` itself and never go past its position or a pin. So an entry a reader keeps is
 * still there exactly while the cap has not reached it: the first parked entry of a pin, the
 * position a read started after, a dead node's committed position. One `XRANGE id id` says.
 * (Redis 7's `XINFO STREAM` field `max-deleted-entry-id` is no help: Redis 7.0 sets it on
 * XDEL only, not when a stream is trimmed; checked on 7.0.15.) Any Redis a cluster runs on
 * (6.2 or later) answers it.
 */
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ParkedPosition } from './parked-position.js';

/** True when the stream `key` holds the entry `id` (false: trimmed, or no stream). */
export async function entryExists(redis: RedisClient, key: string, id: string): Promise<boolean> {
  const found = (await redis.call('XRANGE', key, id, id, 'COUNT', '1')) as unknown[];
  return found.length > 0;
}

/** The counters an inbox keeps of what the cap trimmed (InboxCounters). */
export interface TrimCounters {
  trimmedUnread: number;
  trimmedParked: number;
}

/**
 * The checks of this node's own inbox (see the file comment), on the command connection, none
 * on the common path:
 * - Unread: after a read of at least `lagEntries` entries (the reader was that far behind,
 *   as far as the cap lets it lag), is the entry it started after still there? If not, the
 *   cap reached the reader, and the entries after that one were trimmed unread, unless the
 *   cap stopped right at it. Sent before any later trim of the reader's own, which could
 *   remove it. None is missed: once the cap trimmed an unread entry it leaves at least itself
 *   of unread entries, so the next read holds at least `lagEntries` (a full page at most) and
 *   starts after an entry gone with them.
 * - Parked: after each of the reader's trims (every TRIM_ENTRIES entries and when idle), is
 *   the first parked entry of the earliest pin still there? Each pin is counted once.
 */
export class InboxTrimWatch {
  private checks: Promise<void> = Promise.resolve();
  private parkedCheckPending = false;
  /** The earliest pin's entry last found trimmed. */
  private trimmedPin: string | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly logger: Logger,
    private readonly counters: TrimCounters,
    private readonly parked: ParkedPosition,
    /** A read of this many entries or more is checked (the cap, or a full page if less). */
    private readonly lagEntries: number,
    private readonly running: () => boolean,
  ) {}

  /** A read of `count` entries that started after `from` was delivered. */
  afterRead(from: string, count: number): void {
    if (count < this.lagEntries || from === '0-0') return;
    // Sent now, not after the checks under way: the reader's next trim may remove `from`.
    const present = entryExists(this.redis, this.key, from);
    this.queue(async () => {
      if (await present) return;
      this.counters.trimmedUnread++;
      this.logger.error(
        { inbox: this.key, readAfter: from, read: count },
        'cluster: the inbox cap (cluster.inboxMaxLength) trimmed entries before this node read them: messages acknowledged to their publishers are lost',
      );
    });
  }

  /** The inbox was trimmed: is the earliest pin's first entry still there? */
  afterTrim(): void {
    if (this.parkedCheckPending || this.parked.earliestEntry() === undefined) return;
    this.parkedCheckPending = true;
    this.queue(async () => {
      this.parkedCheckPending = false;
      const entry = this.parked.earliestEntry();
      if (entry === undefined || entry === this.trimmedPin) return;
      if (await entryExists(this.redis, this.key, entry)) return;
      this.trimmedPin = entry;
      this.counters.trimmedParked++;
      this.logger.warn(
        { inbox: this.key, parkedFrom: entry, clientIds: this.parked.clientIds() },
        'cluster: the inbox cap (cluster.inboxMaxLength) trimmed entries a moving session’s parked messages came from: they are delivered when it lands, but lost if this node dies first',
      );
    });
  }

  /** Runs `check` after the checks before it. Never rejects. */
  private queue(check: () => Promise<void>): void {
    this.checks = this.checks.then(check).catch((err: unknown) => {
      if (!this.running()) return; // stopping: its connection goes
      this.logger.warn(
        { err: String(err) },
        'cluster: checking the inbox for trimmed entries failed',
      );
    });
  }
}
