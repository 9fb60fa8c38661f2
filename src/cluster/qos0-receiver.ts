/**
 * The QoS 0 messages other nodes forward to this node: published on this node's channel
 * `qos0:<id>` (one PUBLISH per sending node per event-loop turn, carrying that turn's batch
 * in the inbox's framing, envelope.ts), pushed to a connection of its own that does nothing
 * else. Not the inbox stream: a QoS 0 message promises no durability and is acknowledged to
 * no one, and an XADD plus the blocking XREAD the reader issues again after every wake-up
 * cost Redis and the two nodes ~17 µs more per lone message than a PUBLISH pushed to a
 * subscriber (bench/tools/q0-transport). Order: a sender's QoS 0 messages to this node go on
 * one connection to one channel, so they come in order; QoS 0 and QoS 1/2 messages travel
 * apart, which MQTT allows: order is required per topic and QoS [MQTT-4.6.0-6]. Hence only
 * with `cluster.qos0Channel` (off by default): without it QoS 0 goes by the inbox, in order
 * with QoS 1/2 across nodes as on one node.
 *
 * Not the announcements connection either: Redis closes a subscriber whose output buffer
 * overflows (`client-output-buffer-limit pubsub`), and that must not cost route
 * announcements. What is published while this connection is down (overflow, Redis away) is
 * lost: its senders count it (`status().outbox.qos0Unheard`: PUBLISH reached no one), this node
 * counts and logs the outage. ioredis subscribes again when it reconnects.
 */
import type { MessagePipeline } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { ResentBatches } from './batch-number.js';
import { decodeBatch } from './envelope.js';
import { routeForwarded } from './inbox.js';
import type { MalformedInput } from './malformed.js';
import type { ResolvedClusterOptions } from './options.js';
import type { Outbox } from './outbox.js';
import { connectNode } from './redis-connection.js';

/** Counters of the QoS 0 channel on the receiving side. */
export interface Qos0ReceiverCounters {
  /** QoS 0 messages received on this node's channel and routed here. */
  received: number;
  /** Batches that could not be decoded or delivered (skipped, logged throttled). */
  malformed: number;
  /** Times the connection was lost while subscribed (what was published meanwhile is lost). */
  disconnects: number;
  /**
   * Batches skipped as pushed here already: Redis ran their sender's PUBLISH twice (the reply
   * was lost with the connection, and ioredis sent it again: batch-number.ts).
   */
  resent: number;
}

/** Subscribes to this node's QoS 0 channel and routes what comes on it. */
export class Qos0Receiver {
  readonly counters: Qos0ReceiverCounters = {
    received: 0,
    malformed: 0,
    disconnects: 0,
    resent: 0,
  };
  /** The batches delivered per sender: a resent one is skipped (QoS 0 is at most once). */
  private readonly seen = new ResentBatches();
  private readonly redis: RedisClient;
  private channel: string | undefined;
  /** The connection was ready since it was last lost (ioredis closes again per failed attempt). */
  private up = false;

  constructor(
    options: ResolvedClusterOptions,
    private readonly pipeline: MessagePipeline,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
    private readonly malformed: MalformedInput,
  ) {
    this.redis = connectNode(options, 'qos0', logger, {
      error: () => {},
      ready: () => {
        this.up = true;
      },
      closed: () => this.lost(),
    });
  }

  /** Connects and subscribes to `channel` (resolves once subscribed). */
  async start(channel: string): Promise<void> {
    this.redis.on('messageBuffer', (_channel: Buffer, data: Buffer) => this.handle(data));
    await this.redis.connect();
    await this.redis.subscribe(channel);
    this.channel = channel;
  }

  /**
   * Resolves once every message Redis pushed to this connection before now is routed: the
   * PONG of a PING comes after them. A session move's route barrier (route-barrier.ts) waits
   * for this after the markers: a sender's PUBLISH went before its marker on one connection,
   * so the message is in this connection's output buffer once the marker is in the stream.
   * Resolves at once while the connection is down (what was pushed is lost with it), and
   * after `timeoutMs` at most.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.channel === undefined || this.redis.status !== 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.redis.ping().catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Stops listening and closes the connection. */
  stop(): void {
    this.channel = undefined;
    this.redis.disconnect();
  }

  private handle(data: Buffer): void {
    try {
      const batch = this.seen.fresh(data);
      if (batch === undefined) {
        this.counters.resent++;
        return;
      }
      this.counters.received += routeForwarded(
        this.pipeline,
        this.outbox,
        decodeBatch(batch),
        undefined,
      );
    } catch (err) {
      this.counters.malformed++;
      this.malformed.note('inbox', (err as Error).message, { channel: this.channel });
    }
  }

  private lost(): void {
    if (this.channel === undefined || !this.up) return; // stopping, or an outage counted
    this.up = false;
    this.counters.disconnects++;
    this.logger.warn(
      { channel: this.channel },
      'cluster: QoS 0 channel connection lost: QoS 0 messages forwarded to this node until it is back are lost',
    );
  }
}
