/**
 * Messages on their way to other nodes. A delivery to a remote node is encoded into that
 * node's batch as it is routed (batch-builder.ts); once per event-loop turn (as the store's
 * group commit) every batch is written to its node's inbox stream, each as one command framed
 * around the batch's bytes (forward-frame.ts), all sent before any reply is awaited. A message matching a node through ordinary
 * subscriptions and shared groups alike travels once, with the groups listed.
 *
 * Order: a publisher's messages are handled in order and appended to one batch per node,
 * and a node reads its inbox in order, so order per publisher and topic holds across nodes,
 * across QoS too (as on one node).
 *
 * QoS 0 messages (the publish's QoS), only with `qos0Channel` set (the `cluster.qos0Channel`
 * option, off by default; never on a Redis Cluster), go in a batch of their own per node, published on that node's channel `qos0:<id>` instead
 * (qos0-receiver.ts): nothing waits for them (no acknowledgement), and a PUBLISH that reached
 * no subscriber (the node died, or its QoS 0 connection is down) is counted and logged, not
 * retried. They keep their order among themselves (one connection, one channel), not with the
 * node's QoS 1/2 messages, which MQTT allows: order holds per topic and QoS [MQTT-4.6.0-6].
 */
import { type Delivery, WriteRefused } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { BatchBuilder } from './batch-builder.js';
import { BatchNumbers, NUMBER_BYTES } from './batch-number.js';
import {
  BULK_HEAD_MAX,
  commandHead,
  FrameCommand,
  frameInPlace,
  frameWith,
} from './forward-frame.js';
import type { ClusterKeys } from './keys.js';
import { DEFAULT_INBOX_MAX_LENGTH } from './options.js';
import { newOutboxCounters, type OutboxCounters } from './outbox-counters.js';
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

/** What a turn of QoS 0 batches alone hands the write barrier: nothing to wait for. */
const SENT: Promise<void> = Promise.resolve();

/** One node's way out: its batch being filled and the constant start of its commands. */
interface Outgoing {
  readonly builder: BatchBuilder;
  /** The frame of the XADD up to its last argument (the batch). */
  readonly head: Buffer;
  /** The command's arguments as ioredis sees them (the batch stands in as ''). */
  readonly args: readonly string[];
  /** A PUBLISH of QoS 0 messages (else an XADD to the node's inbox). */
  readonly qos0: boolean;
}

/** The command names ioredis sees. */
const XADD = 'xadd';
const PUBLISH = 'publish';
/** Least time between two log lines about QoS 0 batches nobody heard (ms). */
const UNHEARD_LOG_MS = 10_000;

/** Batches deliveries per remote node and writes them once per turn. */
export class Outbox implements ForwardSink {
  receiving = false;
  readonly counters: OutboxCounters = newOutboxCounters();
  /**
   * QoS 0 messages go on the nodes' QoS 0 channels (set by the node with the
   * `cluster.qos0Channel` option; by default they go by the inbox, in order with QoS 1/2).
   */
  qos0Channel = false;
  /** Per node id (a few, reused when a node comes back): kept between flushes. */
  private readonly outgoing = new Map<number, Outgoing>();
  /** The same for the QoS 0 channels. */
  private readonly outgoingQos0 = new Map<number, Outgoing>();
  /** QoS 0 messages unheard since the last log line about them, and when that was. */
  private unheardUnlogged = 0;
  private unheardLoggedAt = -Infinity;
  /** The nodes whose batch holds messages, in the order of their first forward of the turn. */
  private readonly filled: Outgoing[] = [];
  /** Markers to append after the batches of the next flush: [node id, marker]. */
  private readonly markers: [number, string][] = [];
  private scheduled = false;
  /** Numbers each batch, so that one Redis got twice is delivered once (batch-number.ts). */
  private readonly numbers = new BatchNumbers();

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
    const qos0 = this.qos0Channel && delivery.message.qos === 0;
    const out = qos0
      ? (this.outgoingQos0.get(node.nodeId) ?? this.openQos0(node.nodeId))
      : (this.outgoing.get(node.nodeId) ?? this.open(node.nodeId));
    if (out.builder.count === 0) this.filled.push(out);
    // Encoded now: the message is not held until the flush.
    out.builder.add(delivery.message, delivery.shareFilter);
    if (!qos0) this.barrier.wrote(); // nothing waits for a QoS 0 message
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
      builder: new BatchBuilder(head.length + BULK_HEAD_MAX + NUMBER_BYTES),
      head,
      args: [...args, ''],
      qos0: false,
    };
    this.outgoing.set(nodeId, out);
    return out;
  }

  /** The QoS 0 channel of node `nodeId`, made on its first QoS 0 forward. */
  private openQos0(nodeId: number): Outgoing {
    const channel = this.keys.qos0(nodeId);
    const head = commandHead(['PUBLISH', channel]);
    const out: Outgoing = {
      builder: new BatchBuilder(head.length + BULK_HEAD_MAX + NUMBER_BYTES),
      head,
      args: [channel, ''],
      qos0: true,
    };
    this.outgoingQos0.set(nodeId, out);
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
    let batches = 0;
    // In the order of the turn's first forwards; a node's QoS 0 batch before its marker.
    for (const out of this.filled) {
      const batch = out.builder.finish(2); // room for the frame's final CRLF
      const start = this.numbers.stamp(batch.buffer, batch.start);
      const frame = frameInPlace(out.head, batch.buffer, start, batch.end);
      if (out.qos0) {
        this.publishQos0(out, frame, batch.count, batch.buffer);
        continue;
      }
      const write = this.send(out.args, frame);
      const recycle = () => out.builder.recycle(batch.buffer);
      write.then(recycle, recycle);
      writes.push(write);
      sizes.push(batch.count);
      count += batch.count;
      batches++;
    }
    // One WAIT for the whole turn, after its batches (never one per message or per node).
    const replicated = count > 0 ? this.replicas?.after([...writes]) : undefined;
    replicated?.catch(() => {}); // reported by check() unless a write failed first
    this.counters.batches += batches;
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
    const buffer = batch.buffer;
    const start = this.numbers.stamp(buffer, batch.start);
    this.filled.length = 0;
    if (out.qos0) {
      this.publishQos0(out, frameInPlace(out.head, buffer, start, batch.end), count, buffer);
      this.barrier.sent(SENT);
      return;
    }
    this.counters.batches++;
    this.counters.forwarded += count;
    const write = this.send(out.args, frameInPlace(out.head, buffer, start, batch.end));
    this.barrier.sent(
      write.then(
        (value) => {
          out.builder.recycle(buffer);
          if (value === null) this.refuse(count);
        },
        (err: unknown) => {
          out.builder.recycle(buffer);
          this.fail(err, count);
        },
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
  private send(args: readonly string[], frame: Buffer, name = XADD): Promise<unknown> {
    return this.redis.sendCommand(new FrameCommand(name, args, frame)) as Promise<unknown>;
  }

  /**
   * Publishes a QoS 0 batch on its node's channel (same connection, so in order with the
   * XADDs and markers of the turn). Nothing waits for it: a failure or a PUBLISH that reached
   * no one is counted and logged.
   */
  private publishQos0(out: Outgoing, frame: Buffer, count: number, buffer: Buffer): void {
    this.counters.qos0Published += count;
    this.send(out.args, frame, PUBLISH).then(
      (receivers) => {
        out.builder.recycle(buffer);
        if (receivers === 0) this.unheard(count, out.args[0]!);
      },
      (err: unknown) => {
        out.builder.recycle(buffer);
        this.counters.failed += count;
        this.logger.warn(
          { err: String(err), messages: count },
          'cluster: publishing QoS 0 messages to another node failed (Redis unreachable?); lost',
        );
      },
    );
  }

  /** Counts QoS 0 messages no one heard; logs at most one line per UNHEARD_LOG_MS. */
  private unheard(count: number, channel: string): void {
    this.counters.qos0Unheard += count;
    this.unheardUnlogged += count;
    const now = performance.now();
    if (now - this.unheardLoggedAt < UNHEARD_LOG_MS) return;
    this.logger.warn(
      { channel, messages: this.unheardUnlogged },
      'cluster: QoS 0 messages published to a node no one listened for (it died, or its QoS 0 connection is down); lost',
    );
    this.unheardUnlogged = 0;
    this.unheardLoggedAt = now;
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
