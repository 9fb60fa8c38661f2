/**
 * A Redis connection that is either one server (standalone or behind Sentinel, ioredis
 * `Redis`) or a Redis Cluster (ioredis `Cluster`), and the few things that differ between
 * them: opening a Cluster from a URL and seed nodes, and SCAN (a Cluster has one keyspace
 * per master).
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { isUnixUrl, readUnixUrl } from './unix-url.js';

/** One server, or a Redis Cluster: the commands Pipit sends are the same. */
export type RedisClient = Redis | Cluster;

/** A Redis Cluster seed node. */
export interface SeedNode {
  host: string;
  port: number;
}

/**
 * What a Redis URL gives each node of a Redis Cluster: username, password and TLS
 * (`rediss://`). Its host is not used (the seed nodes are) and its database must be 0
 * (checked by the caller: hash-tag.ts).
 */
export function clusterNodeOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  const options: RedisOptions = {};
  if (parsed.username !== '') options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}

/**
 * A client of one server (standalone, or its master with Sentinel `options`): `url` is a
 * `redis://` or `rediss://` URL, or `unix:///path/to/redis.sock` (ioredis takes a socket as
 * its `path` option, not as a URL: unix-url.ts).
 * @throws RangeError for a `unix://` URL that is not well formed (callers check it first).
 */
export function openRedis(url: string, options: RedisOptions): Redis {
  if (!isUnixUrl(url)) return new Redis(url, options);
  const target = readUnixUrl(url);
  if (typeof target === 'string') throw new RangeError(target);
  return new Redis({ ...options, ...target });
}

/** A Cluster client of `nodes`, each node reached with `url`'s credentials and TLS. */
export function openCluster(
  url: string,
  nodes: readonly SeedNode[],
  options: ClusterOptions,
  nodeOptions: RedisOptions,
): Cluster {
  return new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    {
      ...options,
      redisOptions: { ...clusterNodeOptions(url), ...nodeOptions },
    },
  );
}

// PUBLISH with its channel given as the script's key, so that ioredis routes it by slot.
const PUBLISH_IN_SLOT = "return redis.call('PUBLISH', KEYS[1], ARGV[1])";

/**
 * Publishes `message` on `channel`. On a Redis Cluster a PUBLISH names no key, so ioredis
 * sends it to any master, at random: one that is down or hangs would fail or hold the
 * announcement, though the Pipit cluster needs only the master of its slot. There it goes
 * to that master (the channel carries the prefix's hash tag); Redis still broadcasts it to
 * every node's subscribers. Resolves with the number of clients that received it there.
 */
export async function publish(
  client: RedisClient,
  channel: string,
  message: string,
): Promise<number> {
  if (!(client instanceof Cluster)) return client.publish(channel, message);
  return (await client.eval(PUBLISH_IN_SLOT, 1, channel, message)) as number;
}

/**
 * Calls `onKeys` with each SCAN page of the keys matching `pattern`. On a Cluster it scans
 * every master (a key lives on the master of its slot; with one hash tag that is one of
 * them, but which one changes with resharding and failover).
 */
export async function scanKeys(
  client: RedisClient,
  pattern: string,
  count: number,
  onKeys: (keys: string[]) => void | Promise<void>,
): Promise<void> {
  const servers = client instanceof Cluster ? client.nodes('master') : [client];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) await onKeys(keys);
    } while (cursor !== '0');
  }
}
