/**
 * Messages on their way to other nodes. A delivery to a remote node is encoded into that
 * node's batch as it is routed (batch-builder.ts); once per event-loop turn (as the store's
 * group commit) every batch is written to its node's inbox stream, each as one command framed
 * around the batch's bytes (forward-frame.ts), all sent before any reply is awaited. A message matching a node through ordinary
 * subscriptions and shared groups alike travels once, with the groups listed.
 *
 * Order: a publisher's messages are handled in order and appended to one batch per node,
 * and a node reads its inbox in order, so order per publisher and topic holds across nodes.
 */
import { type Delivery, WriteRefused } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { BatchBuilder } from './batch-builder.js';
import {
  BULK_HEAD_MAX,
  commandHead,
  FrameCommand,
  frameInPlace,
  frameWith,
} from './forward-frame.js';
import type { ClusterKeys } from './keys.js';
import { DEFAULT_INBOX_MAX_LENGTH } from './options.js';
import type { ForwardSink, RemoteNode } from './remote-node.js';
import type { ReplicaWait } from './replica-wait.js';
import { WriteBarrier } from './write-barrier.js';

/**
 * The start of the XADD that appends a batch (field `m`) or a session move's marker (field
 * `b`, see inbox.ts) to a node's inbox: only while the stream exists (NOMKSTREAM), nil
 * otherwise. A node makes its inbox when it joins (and again at its heartbeat when Redis lost
 * it: membership-scripts.ts), and the survivor that removes a dead node renames its inbox in
 * the script that takes it out of `nodes`; so a forward from a node whose router still names
 * the dead one (for the few ms until it hears of the removal) finds no stream and is refused,
 * not written where no one would read it. One plain command: the Lua wrapper that checked
 * `nodes` first cost Redis ~4.5 µs more per batch (EVAL 19.5 µs, XADD 15 µs).
 */
function xaddArgs(inbox: string, field: 'm' | 'b', maxLength: number): string[] {
  return [inbox, 'NOMKSTREAM', 'MAXLEN', '~', String(maxLength), '*', field];
}

/** One node's way out: its batch being filled and the constant start of its commands. */
interface Outgoing {
  readonly builder: BatchBuilder;
  /** The frame of the XADD up to its last argument (the batch). */
  readonly head: Buffer;
  /** The command's arguments as ioredis sees them (the batch stands in as ''). */
  readonly args: readonly string[];
}

/** Counters of forwarding, read by whoever reports them. */
export interface OutboxCounters {
  /** Messages sent to other nodes' inboxes (one per message per node). */
  forwarded: number;
  /** Stream entries (batches) sent. */
  batches: number;
  /** Messages whose write failed (Redis unreachable, or it answered an error). Logged. */
  failed: number;
  /**
   * Messages refused because their node had left the cluster (removed after its death while
   * this node still routed to it), or its inbox stream was gone (until its next heartbeat
   * makes it again): not acknowledged, the publisher sends again. Logged.
   */
  refused: number;
  /**
   * Messages written to their node's inbox but not acknowledged because fewer replicas than
   * `cluster.wait` asks had them in time: the publisher sends again. Logged.
   */
  notReplicated: number;
}

/** Batches deliveries per remote node and writes them once per turn. */
export class Outbox implements ForwardSink {
  receiving = false;
  readonly counters: OutboxCounters = {
    forwarded: 0,
    batches: 0,
    failed: 0,
    refused: 0,
    notReplicated: 0,
  };
  /** Per node id (a few, reused when a node comes back): kept between flushes. */
  private readonly outgoing = new Map<number, Outgoing>();
  /** The nodes whose batch holds messages, in the order of their first forward of the turn. */
  private readonly filled: Outgoing[] = [];
  /** Markers to append after the batches of the next flush: [node id, marker]. */
  private readonly markers: [number, string][] = [];
  private scheduled = false;

  private readonly barrier: WriteBarrier;

  /**
   * `noteWrite` is told of each forward (an acknowledgement then waits for its XADD); with
   * `replicas` (`cluster.wait`) it waits for the replicas to have it too. `maxLength`: the
   * cap of each inbox it appends to (`cluster.inboxMaxLength`).
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly logger: Logger,
    noteWrite?: () => void,
    private readonly replicas?: ReplicaWait,
    private readonly maxLength = DEFAULT_INBOX_MAX_LENGTH,
  ) {
    this.barrier = new WriteBarrier(noteWrite);
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
    const out = this.outgoing.get(node.nodeId) ?? this.open(node.nodeId);
    if (out.builder.count === 0) this.filled.push(out);
    // Encoded now: the message is not held until the flush.
    out.builder.add(delivery.message, delivery.shareFilter);
    this.barrier.wrote();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** The way out to node `nodeId`, made on its first forward. */
  private open(nodeId: number): Outgoing {
    const args = xaddArgs(this.keys.inbox(nodeId), 'm', this.maxLength);
    const head = commandHead(['XADD', ...args]);
    const out: Outgoing = {
      builder: new BatchBuilder(head.length + BULK_HEAD_MAX),
      head,
      args: [...args, ''],
    };
    this.outgoing.set(nodeId, out);
    return out;
  }

  /** Writes every batch to its node's inbox, then the markers (one write each, no reply awaited between). */
  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.filled.length === 0 && this.markers.length === 0) {
      this.barrier.sent(Promise.resolve());
      return;
    }
    if (this.filled.length === 1 && this.markers.length === 0 && this.replicas === undefined) {
      this.flushOne(this.filled[0]!);
      return;
    }
    const writes: Promise<unknown>[] = [];
    const sizes: number[] = [];
    let count = 0;
    for (const out of this.filled) {
      const batch = out.builder.finish(2); // room for the frame's final CRLF
      writes.push(
        this.send(out.args, frameInPlace(out.head, batch.buffer, batch.start, batch.end)),
      );
      sizes.push(batch.count);
      count += batch.count;
    }
    // One WAIT for the whole turn, after its batches (never one per message or per node).
    const replicated = count > 0 ? this.replicas?.after([...writes]) : undefined;
    replicated?.catch(() => {}); // reported by check() unless a write failed first
    this.counters.batches += this.filled.length;
    this.counters.forwarded += count;
    this.filled.length = 0;
    this.sendMarkers(writes);
    this.barrier.sent(
      Promise.allSettled(writes).then(async (results) => {
        this.check(results, sizes);
        if (replicated !== undefined) this.checkReplicated(await replicated.catch(() => -1), count);
      }),
    );
  };

  /**
   * The usual turn (two nodes, or one node's subscribers only): one batch, no marker, no
   * replica wait. What flush does with one promise on the write, without the lists and the
   * `allSettled` a turn of several writes needs: it runs once per forwarded batch.
   */
  private flushOne(out: Outgoing): void {
    const batch = out.builder.finish(2); // room for the frame's final CRLF
    const count = batch.count;
    this.filled.length = 0;
    this.counters.batches++;
    this.counters.forwarded += count;
    const write = this.send(out.args, frameInPlace(out.head, batch.buffer, batch.start, batch.end));
    this.barrier.sent(
      write.then(
        (value) => {
          if (value === null) this.refuse(count);
        },
        (err: unknown) => this.fail(err, count),
      ),
    );
  }

  /** Sends the pending markers, after the batches. */
  private sendMarkers(writes: Promise<unknown>[]): void {
    for (const [nodeId, marker] of this.markers) {
      const args = xaddArgs(this.keys.inbox(nodeId), 'b', this.maxLength);
      const frame = frameWith(commandHead(['XADD', ...args]), marker);
      writes.push(this.send([...args, marker], frame));
    }
    this.markers.length = 0;
  }

  /** Sends one prepared frame on the outbox's connection (in order with the others). */
  private send(args: readonly string[], frame: Buffer): Promise<unknown> {
    return this.redis.sendCommand(new FrameCommand('xadd', args, frame)) as Promise<unknown>;
  }

  /**
   * Fails the acknowledgements of a flush when a write failed or its node had left. The
   * results past `sizes` are the markers': a failed one is logged only.
   */
  private check(results: PromiseSettledResult<unknown>[], sizes: number[]): void {
    let failed = 0;
    let error: unknown;
    let refused = 0;
    for (let i = 0; i < results.length; i++) {
      const result = results[i]!;
      if (i >= sizes.length) {
        if (result.status === 'rejected') this.markerFailed(result.reason);
      } else if (result.status === 'rejected') {
        failed += sizes[i]!;
        error ??= result.reason;
      } else if (result.value === null) refused += sizes[i]!;
    }
    if (failed > 0) this.fail(error, failed);
    if (refused > 0) this.refuse(refused);
  }

  /** Counts and logs messages refused because their node left, then fails their acknowledgements. */
  private refuse(refused: number): never {
    this.counters.refused += refused;
    this.logger.warn(
      { messages: refused },
      'cluster: forward refused: its node left the cluster (died), or its inbox is gone until its next heartbeat; not acknowledged',
    );
    throw new WriteRefused(
      'forward refused: its node left the cluster',
      `${refused} forwarded messages refused: their node left the cluster (died)`,
    );
  }

  /**
   * Fails the acknowledgements of a flush whose writes fewer replicas than `cluster.wait`
   * asks had in time (-1: WAIT failed), as the store fails a batch that did not reach them.
   */
  private checkReplicated(acked: number, messages: number): void {
    const replicas = this.replicas;
    if (replicas === undefined || replicas.enough(acked)) return;
    this.counters.notReplicated += messages;
    const { replicas: wanted, timeoutMs } = replicas.setting;
    throw new WriteRefused(
      'forward not on enough Redis replicas',
      `${messages} forwarded messages: ${acked < 0 ? 'WAIT failed' : `only ${acked} of ${wanted} Redis replicas had them within ${timeoutMs} ms`} (cluster.wait)`,
    );
  }

  private markerFailed(err: unknown): void {
    this.logger.warn({ err: String(err) }, 'cluster: writing a session move marker failed');
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
