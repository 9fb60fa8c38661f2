import type { BridgeOptions } from './bridge/index.js';
import type { ClusterOptions } from './cluster/index.js';
import type { CoreOptions } from './core/index.js';
import type { HttpServeOptions } from './http/http-listener.js';
import type { ProcessMetricsOptions } from './metrics/index.js';
import type { BrokerStore, Clock, Durability, Logger } from './ports/index.js';
import { RedisStore, type RedisStoreOptions } from './storage/index.js';
import type { TlsOptions } from './transport/tls-context.js';

/** Options of {@link createBroker}: core limits plus the logger and clock. */
export interface BrokerOptions extends Partial<CoreOptions> {
  /** A pino (or compatible) logger; silent by default when embedding. */
  logger?: Logger;
  /** Time source; the system clock by default. */
  clock?: Clock;
  /**
   * Where state survives a restart. `sqlite` (what `pipit broker` uses by default) keeps
   * sessions, queues, inflight messages, retained messages and wills in `<dataDir>/pipit.db`;
   * `memory` keeps nothing across restarts. Embedding without this option means memory.
   */
  persistence?: PersistenceOptions;
  /** A store of your own (implements the BrokerStore port); overrides `persistence`. */
  store?: BrokerStore;
  /** Bridges to other MQTT brokers, started with the broker (docs/bridges.md). */
  bridges?: readonly BridgeOptions[];
  /**
   * Runs this broker as a node of a cluster over Redis (docs/cluster.md): messages reach
   * subscribers on every node, a client id is held by one node at a time. Off by default.
   */
  cluster?: ClusterOptions;
  /**
   * Seconds between two updates of the `$SYS/broker/...` topics (docs/operations.md);
   * 0 publishes none. At most {@link MAX_SYS_INTERVAL}. Default 10.
   */
  sysInterval?: number;
  /**
   * Which of prom-client's default metrics `/metrics` serves besides Pipit's: `process`
   * (CPU, memory, heap, event-loop lag, GC; default true) and `handles` (per-handle and open
   * descriptor counts, walked at each scrape: default false). docs/operations.md.
   */
  metrics?: ProcessMetricsOptions;
}

/** Default of {@link BrokerOptions.sysInterval} (Mosquitto's `sys_interval`). */
export const DEFAULT_SYS_INTERVAL = 10;
/** Largest {@link BrokerOptions.sysInterval}: one day. */
export const MAX_SYS_INTERVAL = 86_400;

/** `sysInterval` checked: a number of seconds 0 to a day (0: no `$SYS` topics). */
export function checkSysInterval(value: number | undefined): number {
  if (value === undefined) return DEFAULT_SYS_INTERVAL;
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_SYS_INTERVAL)) {
    throw new TypeError(
      `sysInterval: expected a number of seconds 0-${MAX_SYS_INTERVAL} (0 = no $SYS topics), got ${String(value)}`,
    );
  }
  return value;
}

/** Persistence settings (see README, "Durability"). */
export type PersistenceOptions =
  | { kind: 'memory' }
  | { kind: 'sqlite'; dataDir: string; durability?: Durability; batchIntervalMs?: number }
  | ({ kind: 'redis' } & Omit<RedisStoreOptions, 'logger'>);

/**
 * One listener. `port` 0 picks a free port; defaults: mqtt 1883, mqtts 8883, ws 8080,
 * wss 8081, http 8088, https 8443. `host` defaults to 127.0.0.1 (localhost only, a secure
 * default). `name` is the listener name hooks and logs see (default 'tcp', 'tls', 'ws',
 * 'wss', 'http' or 'https'). An http(s) listener serves `/metrics`, `/healthz`, `/readyz`
 * and the routes added with `addHttpRoute`, not MQTT.
 */
export type ListenerOptions = ListenerCommon &
  (
    | { type?: 'mqtt' }
    | { type: 'mqtts'; tls: TlsOptions }
    | ({ type: 'ws'; path?: string /* default '/mqtt' */ } & WebSocketOptions)
    | ({ type: 'wss'; path?: string; tls: TlsOptions } & WebSocketOptions)
    | ({ type: 'http' } & HttpServeOptions)
    | ({ type: 'https'; tls: TlsOptions } & HttpServeOptions)
  );

/** What WebSocket listeners take besides their path. */
export interface WebSocketOptions {
  /**
   * Browser origins allowed to connect (`https://host[:port]`, `null`, `*` for any), besides
   * pages served by the listener's own host and port (the Origin's host equals the Host
   * header) and clients that send no Origin (not browsers). Others get HTTP 403. Default none.
   */
  allowedOrigins?: readonly string[];
  /**
   * The largest WebSocket message accepted, in bytes (one message may carry many MQTT
   * packets); a larger one closes the connection with 1009. Default: maximumPacketSize + 64 KiB.
   */
  maxFrameSize?: number;
}

/** What every listener type takes. */
export interface ListenerCommon {
  port?: number;
  host?: string;
  name?: string;
  /**
   * Open sockets on this listener; a socket over it is closed at once, before anything is
   * read (as for the broker-wide `maxConnections`). Default: no cap of its own.
   */
  maxConnections?: number;
}

/**
 * The persistence of a cluster node: the Redis store on the cluster's Redis unless another
 * is named; memory is allowed (sessions then stay on their node); SQLite is refused, since a
 * file per node would strand each session on the node that wrote it.
 */
export function clusterPersistence(
  cluster: ClusterOptions | undefined,
  persistence: PersistenceOptions | undefined,
): PersistenceOptions | undefined {
  if (cluster === undefined) return persistence;
  if (persistence === undefined) {
    return {
      kind: 'redis',
      url: cluster.url,
      prefix: cluster.keyPrefix ?? (cluster.nodes === undefined ? 'pipit:' : '{pipit}:'),
      ...(cluster.sentinels === undefined ? {} : { sentinels: cluster.sentinels }),
      ...(cluster.name === undefined ? {} : { name: cluster.name }),
      ...(cluster.nodes === undefined ? {} : { nodes: cluster.nodes }),
      // One setting for the one Redis: the store's batches wait as the cluster's writes do.
      ...(cluster.wait === undefined ? {} : { wait: cluster.wait }),
    };
  }
  if (persistence.kind === 'sqlite') {
    throw new TypeError(
      'cluster: a SQLite store is one file per node, sessions would not move between nodes; ' +
        "use the Redis store (persistence kind 'redis', the default with cluster) or memory",
    );
  }
  return persistence;
}

/**
 * True when a cluster node's store is the Redis store on the cluster's own Redis (the store
 * a cluster implies, or one named with the same server), so that the store's fenced writes
 * can check the cluster's owner keys in their atomic step (WriteFence; src/cluster/takeover.ts
 * `mayWrite`). A store on another Redis cannot: the cluster's check is then a read before
 * the write.
 */
export function storeOnClusterRedis(
  store: BrokerStore | undefined,
  cluster: ClusterOptions,
): boolean {
  if (!(store instanceof RedisStore)) return false;
  const prefix = cluster.keyPrefix ?? (cluster.nodes === undefined ? 'pipit:' : '{pipit}:');
  return store.reachesKeyOf(cluster, `${prefix}owner:`);
}
