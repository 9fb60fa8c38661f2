/**
 * What a cluster node is configured with (`cluster:` in the YAML file, `--cluster <url>`,
 * `BrokerOptions.cluster` when embedding), and the defaults.
 */
import { MAX_NODE_ID } from '../core/index.js';

/** Cluster settings of one node. */
export interface ClusterOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS, password in the URL). */
  url: string;
  /**
   * This node's id, 0-255: the high bits of its message ids and the key of its lease. By
   * default the node claims a free one in Redis at start.
   */
  nodeId?: number;
  /** How long a node's lease lasts without a heartbeat before the others count it gone. Default 10000 ms. */
  leaseMs?: number;
  /** How often a node renews its lease and checks its peers'. Default leaseMs / 4. */
  heartbeatMs?: number;
  /** Prefix of every Redis key and channel of the cluster. Default `pipit:`. */
  keyPrefix?: string;
  /**
   * `host:port` where MQTT clients reach this node, published for the others: a draining
   * node sends its MQTT 5 clients there (Server Reference). Default: none (a node without it
   * is not offered).
   */
  advertise?: string;
}

/** Options with every default applied. */
export interface ResolvedClusterOptions {
  readonly url: string;
  readonly nodeId: number | undefined;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly keyPrefix: string;
  readonly advertise: string | undefined;
}

/** Default lease of a node. */
export const DEFAULT_LEASE_MS = 10_000;

/**
 * Applies the defaults and checks the values.
 * @throws RangeError naming the option and the value.
 */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  if (!/^rediss?:\/\//.test(options.url)) {
    throw new RangeError(`cluster.url: "${options.url}" is not a redis:// or rediss:// URL`);
  }
  const { nodeId } = options;
  if (nodeId !== undefined && (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID)) {
    throw new RangeError(`cluster.nodeId: ${nodeId} is not an integer from 0 to ${MAX_NODE_ID}`);
  }
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isInteger(leaseMs) || leaseMs < 100) {
    throw new RangeError(`cluster.leaseMs: ${leaseMs} is not a whole number of ms >= 100`);
  }
  const heartbeatMs = options.heartbeatMs ?? Math.floor(leaseMs / 4);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 10 || heartbeatMs >= leaseMs) {
    throw new RangeError(
      `cluster.heartbeatMs: ${heartbeatMs} must be a whole number of ms from 10 to below leaseMs (${leaseMs})`,
    );
  }
  const { advertise } = options;
  if (advertise !== undefined && !/^\S+:\d{1,5}$/.test(advertise)) {
    throw new RangeError(
      `cluster.advertise: "${advertise}" is not host:port (where clients reach this node)`,
    );
  }
  return {
    url: options.url,
    nodeId,
    leaseMs,
    heartbeatMs,
    keyPrefix: options.keyPrefix ?? 'pipit:',
    advertise,
  };
}
