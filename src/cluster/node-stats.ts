/**
 * What a cluster node tells the others about itself, for `GET /nodes` and the dashboard: a
 * small JSON summary under `stats:<id>` (version, start, advertised address, state,
 * connections, message totals, listeners), written on every heartbeat with the lease's
 * expiry (PX leaseMs), so a node that dies takes its summary with it. The figures are read
 * from the counters the core keeps, once per beat: nothing is added to the message path.
 */

import type { BrokerCore } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';

/** A node's state as its summary says. */
export type NodeState = 'up' | 'draining';

/** One listener of a node, as its summary lists it. */
export interface NodeListenerSummary {
  protocol: string;
  host: string;
  port: number;
  url: string;
}

/** What a node publishes of itself. */
export interface NodeSummary {
  nodeId: number;
  version: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
  /** `cluster.advertise` (where clients reach it), null when it advertises none. */
  address: string | null;
  state: NodeState;
  /** Clients connected now. */
  connections: number;
  /** PUBLISH packets received from clients since start. */
  messagesReceived: number;
  /** PUBLISH packets sent to clients since start. */
  messagesSent: number;
  listeners: NodeListenerSummary[];
}

/** What only the broker knows of its node (the cluster code does not see the listeners). */
export interface NodeSelf {
  version: string;
  listeners(): readonly NodeListenerSummary[];
}

/** The key of a node's summary (next to its lease `node:<id>`, same expiry). */
export function statsKey(keys: ClusterKeys, nodeId: number): string {
  return `${keys.prefix}stats:${nodeId}`;
}

/** Writes this node's summary and reads the others'. */
export class NodeStats {
  private self: NodeSelf = { version: 'unknown', listeners: () => [] };
  private state: NodeState = 'up';
  private readonly startedAt = Date.now();

  constructor(
    private readonly core: BrokerCore,
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly leaseMs: number,
    private readonly advertise: string | undefined,
    private readonly logger: Logger,
  ) {}

  /** Sets what the broker knows of this node (its version and listeners). */
  describeAs(self: NodeSelf): void {
    this.self = self;
  }

  /** True once {@link markDraining} was called. */
  get draining(): boolean {
    return this.state === 'draining';
  }

  /** This node's summary now (read from the core's counters). */
  summary(nodeId: number): NodeSummary {
    const metrics = this.core.metrics;
    return {
      nodeId,
      version: this.self.version,
      startedAt: this.startedAt,
      address: this.advertise ?? null,
      state: this.state,
      connections: metrics.connectionsCurrent,
      messagesReceived: metrics.messagesReceived,
      messagesSent: metrics.messagesSent,
      listeners: this.self.listeners().map(({ protocol, host, port, url }) => ({
        protocol,
        host,
        port,
        url,
      })),
    };
  }

  /** Writes the summary with the lease's expiry (a failure is logged: the next beat retries). */
  async publish(nodeId: number): Promise<void> {
    if (nodeId < 0) return;
    try {
      const text = JSON.stringify(this.summary(nodeId));
      await this.redis.set(statsKey(this.keys, nodeId), text, 'PX', this.leaseMs);
    } catch (err) {
      this.logger.debug({ err: String(err) }, 'cluster: writing the node summary failed');
    }
  }

  /** Marks this node draining and says so at once (not at the next beat). */
  async markDraining(nodeId: number): Promise<void> {
    this.state = 'draining';
    await this.publish(nodeId);
  }

  /** Removes the summary (the node leaves). */
  async remove(nodeId: number): Promise<void> {
    if (nodeId >= 0) await this.redis.del(statsKey(this.keys, nodeId));
  }

  /**
   * The nodes of `peers` by id, each with its summary: undefined for a node whose summary is
   * missing or unreadable (it just joined, runs an older version, or its key expired).
   */
  async read(peers: Iterable<number>): Promise<{ nodeId: number; summary?: NodeSummary }[]> {
    const nodeIds = [...peers].sort((x, y) => x - y);
    if (nodeIds.length === 0) return [];
    const texts = await this.redis.mget(nodeIds.map((id) => statsKey(this.keys, id)));
    return texts.map((text, i) => ({
      nodeId: nodeIds[i]!,
      summary: parseSummary(text, nodeIds[i]!, this.logger),
    }));
  }
}

/** A summary read from Redis, or undefined when missing or not one (logged). */
function parseSummary(
  text: string | null,
  nodeId: number,
  logger: Logger,
): NodeSummary | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as NodeSummary;
    if (typeof value === 'object' && value !== null && value.nodeId === nodeId) return value;
  } catch {
    // fall through: logged below
  }
  logger.warn({ nodeId }, 'cluster: a node summary in Redis is not one: listed as unknown');
  return undefined;
}
