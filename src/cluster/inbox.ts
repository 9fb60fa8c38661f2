/**
 * This node's inbox: the stream other nodes forward messages to. A dedicated connection
 * reads it with a blocking XREAD from the last entry read, so a node that lost Redis for a
 * while reads on where it stopped once it is back (what the stream still holds: it keeps
 * about the last `cluster.inboxMaxLength` entries). Each message is delivered to this node's subscribers
 * only, through `pipeline.fromNode`, never forwarded again.
 *
 * With a store that nodes share (StoreCursors), the position read up to is set in the store
 * right after the entries of each read are delivered: it lands in the batch that holds the
 * queue and inflight writes they caused (the store flushes a batch on a later tick or
 * microtask, never inside this synchronous delivery), so "committed up to" never claims more
 * than the store has. If this node dies, the survivor that adopts its sessions reads the
 * inbox on from there (orphan-reader.ts): nothing committed twice, nothing unread lost. Once
 * the position is committed the stream may be trimmed up to it (XTRIM MINID): every
 * TRIM_ENTRIES entries read, and when the inbox goes idle, not after every commit. What a
 * session moving in parked from it is pinned (parked-position.ts): the position commits with
 * a second cursor saying where the parked messages start, and the stream is not trimmed past
 * that.
 */

import type { ForwardedScope, MessagePipeline, Subscriber } from '../core/index.js';
import type { Logger, StoreCursors } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { ResentBatches } from './batch-number.js';
import { decodeBatch, type ForwardedMessage } from './envelope.js';
import type { MalformedInput } from './malformed.js';
import type { Outbox } from './outbox.js';
import { compareStreamIds, type ParkedPosition, parkedCursor } from './parked-position.js';
import { StreamReadFrames } from './read-frame.js';
import { isRemoteNode } from './remote-node.js';
import { InboxTrimWatch } from './trim-check.js';

/** Entries read per XREAD. */
const READ_COUNT = 512;
/** How long one XREAD blocks (ms): bounds how long stopping waits for the reader. */
const BLOCK_MS = 1000;
/** Pause after a failed read before the next (ms). */
const RETRY_MS = 200;
/**
 * Reads whose deliveries wrote nothing to the store (QoS 0, or no persistent subscriber) may
 * leave the position unset for this many reads and UNSET_MS, or until the inbox is idle: a
 * position that rides along with other writes costs no round trip of its own.
 */
const UNSET_READS = 16;
/**
 * The least time (ms) a position is left unset by such reads. At 10k msg/s a read holds 1-10
 * messages, and a commit on the 16th read was a MULTI/SET/EXEC every 1.6-16 ms (the store's
 * batch machinery on this node, three commands on Redis) for nothing a reader needs now: a
 * survivor adopting this node's sessions reads what is after the position again, and those
 * reads delivered nothing to the store, so all it costs is that re-read (at most this long's
 * entries more). Reads that wrote to the store commit their position at once, as before.
 */
const UNSET_MS = 50;
/**
 * Entries read between two trims of the stream (besides the trim when the inbox goes idle).
 * Why not one per commit: with a persistent subscriber every read commits its position, and
 * an XTRIM per read was a third Redis command per forwarded batch (with the sender's EVAL and
 * this XREAD), a wake-up of Redis and of this node for nothing a reader needs. Trimming later
 * loses nothing: only entries before a committed position go, which no reader (this node,
 * or a survivor adopting its sessions) reads again; the stream holds up to this many entries
 * more meanwhile (and is capped by its MAXLEN in any case).
 */
const TRIM_ENTRIES = 64;

/** Counters of the inbox. */
export interface InboxCounters {
  /** Messages received from other nodes and routed here. */
  received: number;
  /** Stream entries that could not be decoded or delivered (skipped, logged throttled). */
  malformed: number;
  /**
   * Reads after which the senders' cap (`cluster.inboxMaxLength`) was found to have trimmed
   * entries this node had not read yet: messages acknowledged to their publishers and lost
   * (logged as an error; trim-check.ts says how it is told).
   */
  trimmedUnread: number;
  /**
   * Pins of stand-ins (parked-position.ts) whose entries the cap trimmed: what was parked is
   * still delivered when the session lands, but had this node died first a survivor could
   * not have read it again (logged as a warning).
   */
  trimmedParked: number;
  /**
   * Entries skipped as a batch read already: Redis ran its sender's XADD twice (the reply was
   * lost with the connection, and ioredis sent it again: batch-number.ts).
   */
  resent: number;
}

/** Reads the inbox stream and routes what it holds. */
export class Inbox {
  readonly counters: InboxCounters = {
    received: 0,
    malformed: 0,
    trimmedUnread: 0,
    trimmedParked: 0,
    resent: 0,
  };
  /** The batches delivered per sender: a resent one is skipped (batch-number.ts). */
  private readonly seen = new ResentBatches();
  private running = false;
  /** The inbox was cleared when this node claimed its id: read it from the start. */
  private lastId = '0-0';
  private loop: Promise<void> | undefined;
  /** The XREAD of the inbox, framed once but for the position (read-frame.ts). */
  private readonly reads: StreamReadFrames;

  /** Set while an XTRIM is in flight; `trimTo` then holds the next position to trim to. */
  private trimming = false;
  private trimTo: string | undefined;
  /** Reads delivered since the position was last set (0: it is up to date). */
  private unsetReads = 0;
  /** When the position was last set (`performance.now()`). */
  private setAt = 0;
  /** The latest committed position the stream is not yet trimmed to. */
  private committed: string | undefined;
  /** Entries read since the last trim. */
  private untrimmed = 0;
  /** The last XREAD found nothing new: a commit landing now is trimmed to at once. */
  private idle = false;
  /** The parked cursor is set in the store (deleted once nothing is pinned). */
  private parkedSet = false;
  /** Looks for entries the senders' cap trimmed before they were read (or while pinned). */
  private readonly trims: InboxTrimWatch | undefined;
  /** Told of each session-move marker read (session-move.ts), in stream order. */
  onMarker: ((marker: string) => void) | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly pipeline: MessagePipeline,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
    private readonly malformed: MalformedInput,
    /** Where the read position is committed (undefined: no shared store, nothing to adopt). */
    private readonly position?: {
      cursors: StoreCursors;
      name: string;
      /** A connection for XTRIM (the reader's own blocks in XREAD). */
      commands: RedisClient;
      /** The core store's mutation count (a read that wrote to the store changes it). */
      mutations: () => number;
      /** The entries stand-ins parked messages from (committed with the position). */
      parked: ParkedPosition;
      /** The cap of the inbox (`cluster.inboxMaxLength`): a read this long is checked. */
      maxLength: number;
    },
  ) {
    this.reads = new StreamReadFrames(key, READ_COUNT, BLOCK_MS);
    this.trims =
      position &&
      new InboxTrimWatch(
        position.commands,
        key,
        logger,
        this.counters,
        position.parked,
        Math.min(position.maxLength, READ_COUNT),
        () => this.running,
      );
    // A session landed: its parked messages are written in the batch being filled, and the
    // parked cursor follows in the same batch (not once stopped: the cursors went with it).
    if (position !== undefined) {
      position.parked.onUnpin = () => {
        if (this.running) this.commitPosition();
      };
    }
  }

  /** Starts reading (from entries added after now). */
  start(): void {
    this.running = true;
    this.loop = this.readLoop();
  }

  /** Stops reading; resolves once the reader returned. */
  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await this.loop;
    // Leaving: the inbox goes with this node, and so does its position.
    this.position?.cursors.delete(this.position.name);
    this.position?.cursors.delete(parkedCursor(this.position.name));
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      try {
        const reply = (await this.redis.sendCommand(this.reads.from(this.lastId))) as
          | [Buffer, [Buffer, Buffer[]][]][]
          | null;
        this.idle = reply === null;
        if (reply !== null) this.read(reply[0]![1]);
        else if (this.unsetReads > 0)
          this.commitPosition(); // idle: set what is left
        else this.trimCommitted(); // idle: trim to what is committed
      } catch (err) {
        if (!this.running) return;
        this.logger.warn({ err: String(err) }, 'cluster: reading the inbox failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** Delivers a read, then sets the position when the deliveries wrote (or often enough). */
  private read(entries: [Buffer, Buffer[]][]): void {
    const before = this.position?.mutations();
    const from = this.lastId;
    this.handle(entries);
    this.trims?.afterRead(from, entries.length);
    this.untrimmed += entries.length;
    this.unsetReads++;
    if (
      before !== this.position?.mutations() ||
      (this.unsetReads >= UNSET_READS && performance.now() - this.setAt >= UNSET_MS)
    ) {
      this.commitPosition();
    }
  }

  private handle(entries: [Buffer, Buffer[]][]): void {
    const parked = this.position?.parked;
    try {
      for (const [id, fields] of entries) {
        // A stand-in that parks a delivery of this entry pins the position before it.
        const entry = id.toString();
        if (parked !== undefined) {
          parked.reading = this.lastId;
          parked.entry = entry;
        }
        this.lastId = entry;
        // Each entry on its own: one that cannot be read or delivered is skipped, never the
        // entries after it in this read.
        try {
          const marker = markerOf(fields);
          if (marker !== undefined) this.onMarker?.(marker);
          else {
            // [MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-10] (5.0): a batch resent is not delivered again.
            const data = this.seen.fresh(entryData(fields));
            if (data === undefined) this.counters.resent++;
            else this.deliver(decodeBatch(data));
          }
        } catch (err) {
          this.counters.malformed++;
          this.malformed.note('inbox', (err as Error).message, { entry: this.lastId });
        }
      }
    } finally {
      if (parked !== undefined) parked.reading = parked.entry = undefined;
    }
  }

  private deliver(batch: ForwardedMessage[]): void {
    this.counters.received += routeForwarded(this.pipeline, this.outbox, batch, undefined);
  }

  /**
   * Sets the position read up to in the store's batch (synchronously after the deliveries),
   * with the parked cursor as the pins stand now (parked-position.ts).
   */
  private commitPosition(): void {
    const position = this.position;
    if (position === undefined) return;
    const id = this.lastId;
    this.unsetReads = 0;
    this.setAt = performance.now();
    // Trimmed up to the earliest pin at most: a survivor reads the parked entries again.
    const since = position.parked.since();
    const trimTo = since !== undefined && compareStreamIds(since, id) < 0 ? since : id;
    position.cursors.set(position.name, id, () => this.committedUpTo(trimTo));
    const parked = position.parked.value();
    if (parked !== undefined) {
      position.cursors.set(parkedCursor(position.name), parked);
      this.parkedSet = true;
    } else if (this.parkedSet) {
      position.cursors.delete(parkedCursor(position.name));
      this.parkedSet = false;
    }
  }

  /** The store committed the position `id`: trim up to it now, or later (TRIM_ENTRIES). */
  private committedUpTo(id: string): void {
    this.committed = id;
    if (this.idle || this.untrimmed >= TRIM_ENTRIES) this.trimCommitted();
  }

  /** Trims up to the latest committed position, if the stream is not trimmed to it yet. */
  private trimCommitted(): void {
    const id = this.committed;
    if (id === undefined) return;
    this.committed = undefined;
    this.untrimmed = 0;
    this.trim(id);
  }

  /** Trims the stream up to a committed position (one XTRIM at a time, the latest next). */
  private trim(id: string): void {
    if (this.trimming) {
      this.trimTo = id;
      return;
    }
    this.trimming = true;
    this.position!.commands.xtrim(this.key, 'MINID', id).then(
      () => this.trimmed(),
      (err: unknown) => {
        this.logger.warn({ err: String(err) }, 'cluster: trimming the inbox failed');
        this.trimmed();
      },
    );
  }

  private trimmed(): void {
    this.trimming = false;
    const next = this.trimTo;
    this.trimTo = undefined;
    if (next !== undefined) this.trim(next);
    else this.trims?.afterTrim();
  }
}

/**
 * Delivers a forwarded batch to this node's subscribers (never to a remote target), or, with
 * `only`, to the subscribers it accepts. Returns the messages routed.
 */
export function routeForwarded(
  pipeline: MessagePipeline,
  outbox: Outbox,
  batch: readonly ForwardedMessage[],
  only: ((subscriber: Subscriber) => boolean) | undefined,
): number {
  outbox.receiving = true;
  try {
    // One scope for every message of no shared group (most): no object per message.
    const notOnly = only === undefined ? isRemote : (s: Subscriber) => !only(s);
    const plain: ForwardedScope = { shareFilters: undefined, isRemote: notOnly, only };
    for (const forwarded of batch) {
      const scope: ForwardedScope =
        forwarded.shareFilters === undefined
          ? plain
          : { shareFilters: forwarded.shareFilters, isRemote: notOnly, only };
      pipeline.fromNode(forwarded.message, scope);
    }
  } finally {
    outbox.receiving = false;
  }
  return batch.length;
}

/**
 * The marker of a session move's route barrier (field `b`, written by Outbox.mark), or
 * undefined for any other entry.
 */
export function markerOf(fields: Buffer[]): string | undefined {
  if (fields.length !== 2 || fields[0]!.length !== 1 || fields[0]![0] !== 0x62) return undefined;
  return fields[1]!.toString();
}

/** The batch of an entry: what the outbox writes is one field, `m`, and its value. */
export function entryData(fields: Buffer[]): Buffer {
  const data = fields[1];
  if (fields.length !== 2 || data === undefined) {
    throw new Error(`entry has ${fields.length / 2} fields, not one`);
  }
  return data;
}

function isRemote(subscriber: Subscriber): boolean {
  return isRemoteNode(subscriber);
}
