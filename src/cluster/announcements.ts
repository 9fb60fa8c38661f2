/**
 * A node's pub/sub connection: the channels it listens on (route announcements, retained
 * announcements, its control channel) and what follows when that connection was lost.
 * Messages published while it was down, or while it moved to another node of a Redis
 * Cluster, never reach it: once it is subscribed again on the connection it has now, the
 * node reads again what they would have told (see ClusterNode's resync).
 */
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import type { ResolvedClusterOptions } from './options.js';
import { connectNode } from './redis-connection.js';

/** What the pub/sub connection tells its node. */
export interface AnnouncementHandlers {
  /** A message on the `routes` channel. */
  routes(text: string): void;
  /** A message on the `retained` channel. */
  retained(text: string): void;
  /** A message on this node's control channel. */
  control(text: string): void;
  /** The connection failed (`message`: why). */
  error(message: string): void;
  /** The connection is down: peers count as unreachable. */
  lost(): void;
  /** The connection is up: peers count as reachable. */
  up(): void;
  /**
   * Subscribed again (after a reconnection, or a move to another Redis Cluster node):
   * announcements made meanwhile may have been missed. Resolves false when reading them
   * again failed: it is called again `retryMs` later (until true, or the next resubscription).
   */
  resubscribed(): Promise<boolean>;
}

/** The channels a node listens on, over its pub/sub connection. */
export class Announcements {
  /** The pub/sub connection. */
  readonly redis: RedisClient;
  /** The channels subscribed (none before {@link listen} and after {@link stop}). */
  private channels: string[] = [];
  /** Counts resubscriptions: a resync loop stops when a newer one started. */
  private generation = 0;

  constructor(
    options: ResolvedClusterOptions,
    private readonly keys: ClusterKeys,
    private readonly logger: Logger,
    private readonly handlers: AnnouncementHandlers,
    private readonly retryMs = options.heartbeatMs,
  ) {
    this.redis = connectNode(
      options,
      'subscriber',
      logger,
      {
        error: (message) => handlers.error(message),
        ready: (via) => void this.back(via),
        closed: () => handlers.lost(),
      },
      true,
    );
  }

  /** Subscribes to the channels of node `nodeId`. */
  async listen(nodeId: number): Promise<void> {
    this.redis.on('message', (channel: string, text: string) => this.dispatch(channel, text));
    const channels = [this.keys.routeChanges, this.keys.control(nodeId), this.keys.retainedChanges];
    await this.redis.subscribe(...channels);
    this.channels = channels;
  }

  /** Stops listening and closes the connection. */
  stop(): void {
    this.channels = [];
    this.redis.disconnect();
  }

  /**
   * The connection is ready again, maybe to another node. ioredis subscribes again by itself;
   * subscribing here too (on the same connection, so answered after or with its own) tells
   * when the channels are live there: only then is reading what was missed complete (an
   * announcement between the read and the subscription would be lost).
   */
  private async back(via: string | undefined): Promise<void> {
    this.handlers.up();
    if (this.channels.length === 0) return;
    const generation = ++this.generation;
    try {
      await this.redis.subscribe(...this.channels);
    } catch (err) {
      // The connection dropped again: the next one comes back here.
      this.logger.warn({ err: String(err), via }, 'cluster: subscribing again failed');
      return;
    }
    this.logger.info(
      { via },
      'cluster: pub/sub connection subscribed again: reading route tables and retained messages again',
    );
    // While the slot's master fails over, the pub/sub connection may already be elsewhere.
    while (!(await this.handlers.resubscribed())) {
      await new Promise((resolve) => setTimeout(resolve, this.retryMs).unref());
      if (generation !== this.generation || this.channels.length === 0) return;
      this.logger.info({ via }, 'cluster: reading route tables again after a failure');
    }
  }

  private dispatch(channel: string, text: string): void {
    if (channel === this.keys.routeChanges) this.handlers.routes(text);
    else if (channel === this.keys.retainedChanges) this.handlers.retained(text);
    else this.handlers.control(text);
  }
}
