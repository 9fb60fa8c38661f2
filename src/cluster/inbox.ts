/**
 * This node's inbox: the stream other nodes forward messages to. A dedicated connection
 * reads it with a blocking XREAD from the last entry read, so a node that lost Redis for a
 * while reads on where it stopped once it is back (what the stream still holds: it keeps
 * the last INBOX_MAX_LENGTH entries). Each message is delivered to this node's subscribers
 * only, through `pipeline.fromNode`, never forwarded again.
 */
import type { Redis } from 'ioredis';
import type { ForwardedScope, MessagePipeline, Subscriber } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { decodeBatch, type ForwardedMessage } from './envelope.js';
import type { MalformedInput } from './malformed.js';
import type { Outbox } from './outbox.js';
import { isRemoteNode } from './remote-node.js';

/** Entries read per XREAD. */
const READ_COUNT = 512;
/** How long one XREAD blocks (ms): bounds how long stopping waits for the reader. */
const BLOCK_MS = 1000;
/** Pause after a failed read before the next (ms). */
const RETRY_MS = 200;

/** Counters of the inbox. */
export interface InboxCounters {
  /** Messages received from other nodes and routed here. */
  received: number;
  /** Stream entries that could not be decoded or delivered (skipped, logged throttled). */
  malformed: number;
}

/** Reads the inbox stream and routes what it holds. */
export class Inbox {
  readonly counters: InboxCounters = { received: 0, malformed: 0 };
  private running = false;
  /** The inbox was cleared when this node claimed its id: read it from the start. */
  private lastId = '0-0';
  private loop: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly pipeline: MessagePipeline,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
    private readonly malformed: MalformedInput,
  ) {}

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
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      try {
        const reply = (await this.redis.callBuffer(
          'XREAD',
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.key,
          this.lastId,
        )) as [Buffer, [Buffer, Buffer[]][]][] | null;
        if (reply !== null) this.handle(reply[0]![1]);
      } catch (err) {
        if (!this.running) return;
        this.logger.warn({ err: String(err) }, 'cluster: reading the inbox failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private handle(entries: [Buffer, Buffer[]][]): void {
    for (const [id, fields] of entries) {
      this.lastId = id.toString();
      // Each entry on its own: one that cannot be read or delivered is skipped, never the
      // entries after it in this read.
      try {
        this.deliver(decodeBatch(entryData(fields)));
      } catch (err) {
        this.counters.malformed++;
        this.malformed.note('inbox', (err as Error).message, { entry: this.lastId });
      }
    }
  }

  private deliver(batch: ForwardedMessage[]): void {
    this.outbox.receiving = true;
    try {
      for (const forwarded of batch) {
        const scope: ForwardedScope = { shareFilters: forwarded.shareFilters, isRemote };
        this.pipeline.fromNode(forwarded.message, scope);
        this.counters.received++;
      }
    } finally {
      this.outbox.receiving = false;
    }
  }
}

/** The batch of an entry: what the outbox writes is one field, `m`, and its value. */
function entryData(fields: Buffer[]): Buffer {
  const data = fields[1];
  if (fields.length !== 2 || data === undefined) {
    throw new Error(`entry has ${fields.length / 2} fields, not one`);
  }
  return data;
}

function isRemote(subscriber: Subscriber): boolean {
  return isRemoteNode(subscriber);
}
