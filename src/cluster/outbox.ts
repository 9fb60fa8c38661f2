/**
 * Messages on their way to other nodes. A delivery to a remote node joins that node's batch;
 * once per event-loop turn (as the store's group commit) every batch is written to its node's
 * inbox stream, all in one pipelined round trip. A message matching a node through ordinary
 * subscriptions and shared groups alike travels once, with the groups listed.
 *
 * Order: a publisher's messages are handled in order and appended to one batch per node,
 * and a node reads its inbox in order, so order per publisher and topic holds across nodes.
 */
import { type Delivery, WriteRefused } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { encodeBatch, type ForwardedMessage } from './envelope.js';
import type { ClusterKeys } from './keys.js';
import type { ForwardSink, RemoteNode } from './remote-node.js';
import { WriteBarrier } from './write-barrier.js';

/** Entries an inbox stream keeps at most (approximately): a bound on Redis memory. */
export const INBOX_MAX_LENGTH = 100_000;

// Appends a batch to a node's inbox only while the node is a member: the survivor that
// removes a dead node renames its inbox and takes it out of `nodes` in one script, so a
// forward from a node whose router still names the dead one (for the few ms until it hears
// of the removal) is refused, not written where no one would read it. Nil when refused.
const FORWARD = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[3])`;

// A session move's marker (session-move.ts): the same, in field `b` (see inbox.ts).
const MARK = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'b', ARGV[3])`;

/** The pipeline with the forward script defined on the connection. */
type ForwardPipeline = ReturnType<RedisClient['pipeline']> & {
  pipitForward(
    inbox: string,
    members: string,
    nodeId: string,
    maxLength: number,
    batch: Buffer,
  ): ForwardPipeline;
  pipitMark(
    inbox: string,
    members: string,
    nodeId: string,
    maxLength: number,
    marker: string,
  ): ForwardPipeline;
};

/** Counters of forwarding, read by whoever reports them. */
export interface OutboxCounters {
  /** Messages sent to other nodes' inboxes (one per message per node). */
  forwarded: number;
  /** Stream entries (batches) sent. */
  batches: number;
  /** Writes that failed (Redis unreachable): messages, or batches when Redis answered an error. Logged. */
  failed: number;
  /**
   * Messages refused because their node had left the cluster (removed after its death while
   * this node still routed to it): not acknowledged, the publisher sends again. Logged.
   */
  refused: number;
}

/** Batches deliveries per remote node and writes them once per turn. */
export class Outbox implements ForwardSink {
  receiving = false;
  readonly counters: OutboxCounters = { forwarded: 0, batches: 0, failed: 0, refused: 0 };
  private readonly batches = new Map<RemoteNode, ForwardedMessage[]>();
  /** Markers to append after the batches of the next flush: [node id, marker]. */
  private readonly markers: [number, string][] = [];
  private scheduled = false;

  private readonly barrier: WriteBarrier;

  /** `noteWrite` is told of each forward (an acknowledgement then waits for its XADD). */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly logger: Logger,
    noteWrite?: () => void,
  ) {
    this.barrier = new WriteBarrier(noteWrite);
    redis.defineCommand('pipitForward', { numberOfKeys: 2, lua: FORWARD });
    redis.defineCommand('pipitMark', { numberOfKeys: 2, lua: MARK });
  }

  /**
   * Appends `marker` to node `nodeId`'s inbox after every forward routed so far (same flush,
   * same connection: the node reads it after them). Not acknowledged to anyone: a marker
   * that could not be written is logged, and the node waiting for it times out.
   */
  mark(nodeId: number, marker: string): void {
    this.markers.push([nodeId, marker]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Settles once every forward so far is in its node's inbox; rejects when a write failed. */
  commit(): Promise<void> {
    return this.barrier.commit(this.scheduled);
  }

  forward(node: RemoteNode, delivery: Delivery): void {
    let batch = this.batches.get(node);
    if (batch === undefined) {
      batch = [];
      this.batches.set(node, batch);
    }
    const last = batch.length > 0 ? batch[batch.length - 1] : undefined;
    const shareFilter = delivery.shareFilter;
    if (last !== undefined && last.message === delivery.message) {
      // The same publish again for this node: through a shared group (or the merged rest).
      if (shareFilter !== undefined) (last.shareFilters ??= []).push(shareFilter);
    } else {
      batch.push({
        message: delivery.message,
        shareFilters: shareFilter === undefined ? undefined : [shareFilter],
      });
    }
    this.barrier.wrote();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Writes every batch to its node's inbox (one pipelined round trip). */
  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.batches.size === 0 && this.markers.length === 0) {
      this.barrier.sent(Promise.resolve());
      return;
    }
    const pipeline = this.redis.pipeline() as ForwardPipeline;
    const sizes: number[] = [];
    for (const [node, batch] of this.batches) {
      pipeline.pipitForward(
        this.keys.inbox(node.nodeId),
        this.keys.members,
        String(node.nodeId),
        INBOX_MAX_LENGTH,
        encodeBatch(batch),
      );
      sizes.push(batch.length);
    }
    const count = sizes.reduce((sum, n) => sum + n, 0);
    this.counters.batches += this.batches.size;
    this.counters.forwarded += count;
    this.batches.clear();
    this.appendMarkers(pipeline);
    this.barrier.sent(
      pipeline.exec().then(
        (results) => this.check((results ?? []).slice(0, sizes.length), sizes),
        (err: unknown) => this.fail(err, count),
      ),
    );
  };

  /** Puts the pending markers in `pipeline`, after the batches. */
  private appendMarkers(pipeline: ForwardPipeline): void {
    for (const [nodeId, marker] of this.markers) {
      const members = this.keys.members;
      pipeline.pipitMark(
        this.keys.inbox(nodeId),
        members,
        String(nodeId),
        INBOX_MAX_LENGTH,
        marker,
      );
    }
    this.markers.length = 0;
  }

  /** Fails the acknowledgements of a flush when a write failed or its node had left. */
  private check(results: [Error | null, unknown][], sizes: number[]): void {
    const failed = results.filter(([err]) => err !== null).length;
    if (failed > 0) this.fail(new Error(`${failed} inbox writes failed`), failed);
    let refused = 0;
    for (let i = 0; i < results.length; i++) if (results[i]![1] === null) refused += sizes[i]!;
    if (refused === 0) return;
    this.counters.refused += refused;
    this.logger.warn(
      { messages: refused },
      'cluster: forward refused: its node left the cluster (died); not acknowledged',
    );
    throw new WriteRefused(
      'forward refused: its node left the cluster',
      `${refused} forwarded messages refused: their node left the cluster (died)`,
    );
  }

  /** Counts and logs a failed write, then fails the acknowledgements waiting for it. */
  private fail(err: unknown, messages: number): never {
    this.counters.failed += messages;
    this.logger.warn(
      { err: String(err), messages },
      'cluster: forwarding to other nodes failed (Redis unreachable?)',
    );
    throw err;
  }
}
