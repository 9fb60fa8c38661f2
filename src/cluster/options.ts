/**
 * What a cluster node is configured with (`cluster:` in the YAML file, `--cluster <url>`,
 * `BrokerOptions.cluster` when embedding), and the defaults.
 */
import { MAX_NODE_ID } from '../core/index.js';
import {
  checkClusterPrefix,
  checkClusterUrl,
  checkSeedNodes,
  DEFAULT_CLUSTER_PREFIX,
} from '../redis/hash-tag.js';
import { isUnixUrl, readUnixUrl } from '../redis/unix-url.js';

/** Cluster settings of one node. */
export interface ClusterOptions {
  /**
   * Redis URL, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS, password in the URL), or a
   * Redis on this host over a Unix socket: `unix:///run/redis/redis.sock?db=0&password=...`
   * (not with `sentinels` or `nodes`).
   */
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
  /**
   * Prefix of every Redis key and channel of the cluster. Default `pipit:`; on a Redis
   * Cluster (`nodes`) `{pipit}:`, and it must hold one hash tag (`{name}`), so that every
   * key is in one slot (docs/cluster.md, "Redis Cluster").
   */
  keyPrefix?: string;
  /**
   * `host:port` where MQTT clients reach this node, published for the others: a draining
   * node sends its MQTT 5 clients there (Server Reference). Default: none (a node without it
   * is not offered).
   */
  advertise?: string;
  /**
   * Reach Redis through Redis Sentinel: these sentinels tell where the master `name` is (and
   * which one it is after a failover). `url` then gives only the password, username,
   * database and TLS (`rediss://`, for the master; the sentinels are reached without TLS)
   * and, as its host, the default master name: `redis://:secret@mymaster`.
   */
  sentinels?: RedisHostPort[];
  /** The Sentinel master name (with `sentinels`). Default: the host of `url`. */
  name?: string;
  /**
   * Reach a Redis Cluster through these seed nodes (not with `sentinels`). `url` then gives
   * only the username, password and TLS (`rediss://`); its database must be 0 and its host
   * is not used. Every key and channel carries the prefix's hash tag: one slot.
   */
  nodes?: RedisHostPort[];
  /**
   * Acknowledge a forward to another node (PUBACK/PUBREC) only once this many replicas have
   * it (Redis `WAIT` after each turn's writes, at most `timeoutMs`, default 1000); fewer in
   * time fails the acknowledgement (MQTT 5: 0x97; 3.x: the connection closes), as the Redis
   * store's `wait` fails its commit. A SUBACK waits for its route table change the same way
   * (too few does not fail it), a connect's claim of a client id for its owner key (too few:
   * CONNACK 0x88).
   * `replicas` 1-100; `timeoutMs` plus `heartbeatMs` below `leaseMs` (a `WAIT` holds the
   * node's command connection, its heartbeats too). On a Redis Cluster (`nodes`) the `WAIT`
   * goes to the master of the key prefix's hash slot, where the writes go.
   * The store on the cluster's Redis that the configuration file implies takes it too.
   * Default: no waiting.
   */
  wait?: { replicas: number; timeoutMs?: number };
  /**
   * The entries a node's inbox stream keeps, about (each forward is `XADD ... MAXLEN ~ n`): a
   * bound on the Redis memory a slow or stopped reader can make the others fill. Entries the
   * cap trims before their node read them, or while a moving session's parked messages pin
   * them, are lost: counted in `status().inbox` and logged (Redis 7.0 or later reports them).
   * Leave room for the longest session move under peak traffic. 100 to 1000000000; default
   * 100000.
   */
  inboxMaxLength?: number;
  /**
   * Forward QoS 0 messages to other nodes on a per-node Redis pub/sub channel (`qos0:<id>`,
   * a fourth connection per node) instead of the inbox stream: lower latency and less CPU
   * per message, but a publisher's QoS 0 and QoS 1/2 messages on one topic may then reach
   * another node's subscribers in another order than published (order holds per topic and
   * QoS only, [MQTT-4.6.0-6]), and QoS 0 messages forwarded while the channel's connection
   * is down are lost (counted). Not on a Redis Cluster (`nodes`): refused there. Default
   * false: QoS 0 goes by the inbox stream, in order with QoS 1/2 (docs/cluster.md).
   */
  qos0Channel?: boolean;
}

/** A Redis server or sentinel: `{ host, port }`. */
export interface RedisHostPort {
  host: string;
  port: number;
}

/** Options with every default applied. */
export interface ResolvedClusterOptions {
  readonly url: string;
  readonly nodeId: number | undefined;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly keyPrefix: string;
  readonly advertise: string | undefined;
  /** The sentinels and the master name, when Redis is reached through Sentinel. */
  readonly sentinel: { sentinels: RedisHostPort[]; name: string } | undefined;
  /** The seed nodes, when Redis is a Redis Cluster. */
  readonly redisCluster: RedisHostPort[] | undefined;
  /** `WAIT` after the writes acknowledgements stand behind (undefined: no waiting). */
  readonly wait: { replicas: number; timeoutMs: number } | undefined;
  /** The approximate cap of each inbox stream (`XADD ... MAXLEN ~`). */
  readonly inboxMaxLength: number;
  /** QoS 0 forwards on the nodes' QoS 0 channels (qos0-receiver.ts), else on the inbox. */
  readonly qos0Channel: boolean;
}

/** Default of `wait.timeoutMs`, as the Redis store's. */
export const DEFAULT_WAIT_TIMEOUT_MS = 1000;

/** Default lease of a node. */
export const DEFAULT_LEASE_MS = 10_000;

/**
 * Entries an inbox stream keeps at most (approximately) by default: a bound on Redis memory
 * (`inboxMaxLength`). What the cap trims before its reader got it is counted and logged
 * (trim-check.ts), not silent.
 */
export const DEFAULT_INBOX_MAX_LENGTH = 100_000;

/** The range of `inboxMaxLength` (the file's schema checks the same). */
export const INBOX_MAX_LENGTH_RANGE = [100, 1_000_000_000] as const;

/**
 * Applies the defaults and checks the values.
 * @throws RangeError naming the option and the value.
 */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  checkUrl(options);
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
  const redisCluster = resolveRedisCluster(options);
  const inboxMaxLength = options.inboxMaxLength ?? DEFAULT_INBOX_MAX_LENGTH;
  const [minLength, maxLength] = INBOX_MAX_LENGTH_RANGE;
  if (
    !Number.isInteger(inboxMaxLength) ||
    inboxMaxLength < minLength ||
    inboxMaxLength > maxLength
  ) {
    throw new RangeError(
      `cluster.inboxMaxLength: ${inboxMaxLength} is not a whole number of entries from ${minLength} to ${maxLength}`,
    );
  }
  return {
    url: options.url,
    nodeId,
    leaseMs,
    heartbeatMs,
    keyPrefix: options.keyPrefix ?? (redisCluster ? DEFAULT_CLUSTER_PREFIX : 'pipit:'),
    advertise,
    sentinel: resolveSentinel(options),
    redisCluster,
    wait: resolveWait(options.wait, leaseMs, heartbeatMs),
    inboxMaxLength,
    qos0Channel: resolveQos0Channel(options.qos0Channel, redisCluster),
  };
}

/**
 * `qos0Channel`, checked: a boolean, and not on a Redis Cluster. Refused there rather than
 * ignored: a PUBLISH on a Redis Cluster goes to every shard, so the channel is not offered
 * there, and an option asked for that silently did nothing would leave its operator counting
 * on latency and CPU figures the node does not have.
 * @throws RangeError naming the option.
 */
function resolveQos0Channel(
  qos0Channel: boolean | undefined,
  redisCluster: RedisHostPort[] | undefined,
): boolean {
  if (qos0Channel === undefined) return false;
  if (typeof qos0Channel !== 'boolean') {
    throw new RangeError(`cluster.qos0Channel: ${String(qos0Channel)} is not true or false`);
  }
  if (qos0Channel && redisCluster !== undefined) {
    throw new RangeError(
      'cluster.qos0Channel: not available on a Redis Cluster (cluster.nodes): a PUBLISH there reaches every shard; QoS 0 goes by the inbox stream',
    );
  }
  return qos0Channel;
}

/**
 * `wait`, checked: replicas a whole number 1-100, a timeout of 1-60000 ms that leaves the
 * heartbeats room within the lease.
 * @throws RangeError naming the option.
 */
function resolveWait(
  wait: ClusterOptions['wait'],
  leaseMs: number,
  heartbeatMs: number,
): ResolvedClusterOptions['wait'] {
  if (wait === undefined) return undefined;
  const { replicas } = wait;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 100) {
    throw new RangeError(`cluster.wait.replicas: ${replicas} is not a whole number from 1 to 100`);
  }
  const timeoutMs = wait.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    throw new RangeError(
      `cluster.wait.timeoutMs: ${timeoutMs} is not a whole number of ms from 1 to 60000`,
    );
  }
  if (timeoutMs + heartbeatMs >= leaseMs) {
    throw new RangeError(
      `cluster.wait.timeoutMs: ${timeoutMs} plus heartbeatMs (${heartbeatMs}) must be below leaseMs (${leaseMs}): a WAIT holds the node's Redis command connection, its lease renewals too`,
    );
  }
  return { replicas, timeoutMs };
}

/**
 * Checks `url`: redis://, rediss:// or a well-formed unix:// (one server: Sentinel and Redis
 * Cluster find their servers over TCP).
 * @throws RangeError naming the option.
 */
function checkUrl(options: ClusterOptions): void {
  const { url } = options;
  if (!isUnixUrl(url)) {
    if (/^rediss?:\/\//.test(url)) return;
    throw new RangeError(
      `cluster.url: "${url}" is not a redis://, rediss:// or unix:///path/to/redis.sock URL`,
    );
  }
  const target = readUnixUrl(url);
  if (typeof target === 'string') throw new RangeError(`cluster.url: ${target}`);
  const mode = options.sentinels !== undefined ? 'sentinels' : options.nodes ? 'nodes' : undefined;
  if (mode !== undefined) {
    throw new RangeError(
      `cluster.url: a unix:// socket reaches one Redis server; with cluster.${mode} the servers are found and reached over TCP (give a redis:// or rediss:// URL)`,
    );
  }
}

/**
 * The Redis Cluster seed nodes, checked with what they imply: no sentinels, database 0, a
 * key prefix with one hash tag.
 * @throws RangeError naming the option.
 */
function resolveRedisCluster(options: ClusterOptions): RedisHostPort[] | undefined {
  const { nodes } = options;
  if (nodes === undefined) return undefined;
  if (options.sentinels !== undefined) {
    throw new RangeError(
      'cluster.nodes (a Redis Cluster) and cluster.sentinels (Redis Sentinel) cannot both be set',
    );
  }
  const problem = checkSeedNodes(nodes) ?? checkClusterUrl(options.url);
  if (problem !== undefined) throw new RangeError(`cluster.nodes: ${problem}`);
  const prefix =
    options.keyPrefix === undefined ? undefined : checkClusterPrefix(options.keyPrefix);
  if (prefix !== undefined) throw new RangeError(`cluster.keyPrefix: ${prefix}`);
  return nodes.map(({ host, port }) => ({ host, port }));
}

/**
 * The Sentinel settings, checked: at least one sentinel, each a host and a port; the master
 * name given or the URL's host.
 * @throws RangeError naming the option.
 */
function resolveSentinel(
  options: ClusterOptions,
): { sentinels: RedisHostPort[]; name: string } | undefined {
  const { sentinels } = options;
  if (sentinels === undefined) {
    if (options.name !== undefined) {
      throw new RangeError(
        `cluster.name: "${options.name}" names a Sentinel master, but cluster.sentinels is not set`,
      );
    }
    return undefined;
  }
  if (sentinels.length === 0) throw new RangeError('cluster.sentinels: the list is empty');
  for (const { host, port } of sentinels) {
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(
        `cluster.sentinels: "${host}:${port}" is not a host and a port (1-65535)`,
      );
    }
  }
  const name = options.name ?? new URL(options.url).hostname;
  if (name === '') throw new RangeError('cluster.name: the Sentinel master name is empty');
  return { sentinels: sentinels.map(({ host, port }) => ({ host, port })), name };
}

/**
 * What ioredis takes, besides the URL, to reach the master through Sentinel: the
 * sentinels, the master name and, with `rediss://`, TLS for the master. Empty without.
 */
export function sentinelConnection(options: ResolvedClusterOptions): {
  sentinels?: RedisHostPort[];
  name?: string;
  enableTLSForSentinelMode?: boolean;
} {
  if (options.sentinel === undefined) return {};
  return {
    ...options.sentinel,
    enableTLSForSentinelMode: options.url.startsWith('rediss:'),
  };
}
