/**
 * The `storage:` section (and a cluster's store) -> BrokerOptions.persistence, with the
 * defaults applied.
 */
import { resolve } from 'node:path';
import type { PersistenceOptions as BrokerPersistence } from '../broker.js';
import type { Durability } from '../ports/index.js';
import { DEFAULT_CLUSTER_PREFIX } from '../redis/hash-tag.js';
import { ConfigError } from './errors.js';
import type { Overrides } from './overrides.js';
import type { PipitConfig } from './schema.js';
import { clusterUrl, parseHostPort, waitOptions } from './section-plans.js';

/** Persistence, as BrokerOptions.persistence takes it (with the durability always set). */
export type PersistenceOptions =
  | { kind: 'memory' }
  | (Extract<BrokerPersistence, { kind: 'sqlite' }> & { durability: Durability })
  | Extract<BrokerPersistence, { kind: 'redis' }>;

/**
 * Where the broker keeps its state: memory (--memory, storage.type), a Redis store
 * (storage.type redis, or a cluster's Redis), or SQLite in dataDir (the default: ./data).
 * Relative paths: the file's directory for storage.dataDir, cwd for --data-dir.
 */
export function persistencePlan(
  config: PipitConfig,
  ctx: { baseDir: string; cwd: string; overrides?: Overrides },
): PersistenceOptions {
  const storage = config.storage ?? {};
  const o = ctx.overrides ?? {};
  if (o.memory === true || storage.type === 'memory') return { kind: 'memory' };
  if (storage.type === 'redis') return redisPersistence(storage);
  const cluster = clusterStore(config, o);
  if (cluster !== undefined) return cluster;
  let dataDir = resolve(ctx.cwd, 'data');
  if (o.dataDir !== undefined) dataDir = resolve(ctx.cwd, o.dataDir);
  else if (storage.dataDir !== undefined) dataDir = resolve(ctx.baseDir, storage.dataDir);
  return { kind: 'sqlite', dataDir, durability: storage.durability ?? 'fsync' };
}

/**
 * A cluster's store: the Redis store on the cluster's Redis (under its key prefix), unless
 * the file names another. SQLite (one file per node) is refused: sessions could not move.
 */
function clusterStore(
  config: PipitConfig,
  o: Overrides,
): Extract<PersistenceOptions, { kind: 'redis' }> | undefined {
  const url = clusterUrl(config, o);
  if (url === undefined) return undefined;
  const storage = config.storage ?? {};
  if (
    storage.type === 'sqlite' ||
    storage.dataDir !== undefined ||
    storage.durability !== undefined ||
    o.dataDir !== undefined
  ) {
    throw new ConfigError([
      `storage: a cluster (${o.cluster === undefined ? 'cluster.url' : '--cluster'}) needs a store every node shares, and SQLite is one file per node (sessions could not move between nodes); remove storage.type/dataDir (a cluster uses the Redis store on its Redis), or set storage.type to redis or memory`,
    ]);
  }
  // The cluster's prefix, Sentinel and Redis Cluster settings reach the store on its Redis.
  const { sentinels, nodes, keyPrefix } = config.cluster ?? {};
  const prefix = keyPrefix ?? (nodes === undefined ? 'pipit:' : DEFAULT_CLUSTER_PREFIX);
  const store: Extract<PersistenceOptions, { kind: 'redis' }> = { kind: 'redis', url, prefix };
  if (sentinels !== undefined) store.sentinels = sentinels.map(parseHostPort);
  if (nodes !== undefined) store.nodes = nodes.map(parseHostPort);
  if (config.cluster?.name !== undefined) store.name = config.cluster.name;
  // One setting for the one Redis: the store's batches wait for the replicas as the cluster's writes do.
  const wait = waitOptions(config.cluster?.wait);
  if (wait !== undefined) store.wait = wait;
  return store;
}

function redisPersistence(
  storage: NonNullable<PipitConfig['storage']>,
): Extract<PersistenceOptions, { kind: 'redis' }> {
  // checkConfig made sure there is a URL, or seed nodes (then the first stands for it).
  const out: Extract<PersistenceOptions, { kind: 'redis' }> = {
    kind: 'redis',
    url: storage.url ?? `redis://${storage.nodes?.[0] ?? ''}`,
  };
  if (storage.prefix !== undefined) out.prefix = storage.prefix;
  if (storage.sentinels !== undefined) out.sentinels = storage.sentinels.map(parseHostPort);
  if (storage.name !== undefined) out.name = storage.name;
  if (storage.nodes !== undefined) out.nodes = storage.nodes.map(parseHostPort);
  const wait = waitOptions(storage.wait);
  if (wait !== undefined) out.wait = wait;
  return out;
}
