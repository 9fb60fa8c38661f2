/**
 * Opening the Redis store's connection: the ioredis settings that make a lost Redis fail
 * commits at once (instead of queueing them until it is back), the URL checks, and the log
 * lines for a connection lost and regained.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../ports/index.js';
import { checkClusterUrl, checkSeedNodes } from '../../redis/hash-tag.js';
import {
  openCluster,
  openRedis,
  type RedisClient,
  type SeedNode,
} from '../../redis/redis-client.js';
import { isUnixUrl } from '../../redis/unix-url.js';
import { checkRedisUrl, redactUrl } from './redis-url.js';

/** Connection settings. */
export interface ConnectOptions {
  url: string;
  /** Through Redis Sentinel: the sentinels and the master name (default: the URL's host). */
  sentinels?: { host: string; port: number }[] | undefined;
  name?: string | undefined;
  /**
   * On a Redis Cluster: its seed nodes. `url` then gives only the username, password and TLS
   * (its database must be 0; its host is not used).
   */
  nodes?: SeedNode[] | undefined;
  /** A command not answered within this fails (its commit rejects). */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  logger: Logger;
}

/** Connects (rejecting with a message that names the server when it cannot). */
export async function connectRedis(options: ConnectOptions): Promise<RedisClient> {
  const problem = checkRedisUrl(options.url);
  if (problem !== undefined) throw new Error(`the Redis store: ${problem}`);
  if (isUnixUrl(options.url) && (options.nodes ?? options.sentinels) !== undefined) {
    throw new Error(
      'the Redis store: a unix:// socket reaches one Redis server; with nodes (Redis Cluster) or sentinels the servers are found and reached over TCP (give a redis:// or rediss:// URL)',
    );
  }
  const server = redactUrl(options.url);
  const client =
    options.nodes === undefined ? openServer(options) : openStoreCluster(options, options.nodes);
  watchConnection(client, server, options.logger);
  // A refused login (WRONGPASS, NOAUTH) comes as an 'error' event, while connect() rejects
  // with only "Connection is closed.": keep the event's reason for the message.
  let refused: string | undefined;
  const noteError = (err: Error): void => {
    refused = err.message;
  };
  client.on('error', noteError);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    const where = options.nodes === undefined ? server : describeNodes(options.nodes);
    // (A Redis Cluster's own message already says why; its events repeat ioredis's steps.)
    const why = [(err as Error).message, options.nodes === undefined ? refused : undefined];
    throw new Error(
      `the Redis store cannot reach ${where} (${[...new Set(why.filter((m) => m !== undefined))].join('; ')}): is redis-server running there?`,
      { cause: err },
    );
  } finally {
    client.off('error', noteError);
  }
  return client;
}

/** One server (or its master through Sentinel). */
function openServer(options: ConnectOptions): Redis {
  const sentinel = sentinelSettings(options);
  return openRedis(options.url, {
    ...sentinel,
    lazyConnect: true,
    // Fail commands at once while disconnected, and those in flight when the connection
    // drops: a commit must reject (nothing acknowledged) rather than wait for Redis.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A transaction whose reply was lost may have run: never send it twice.
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    // A master demoted by a failover answers READONLY: reconnect (through the sentinels, to
    // the new master) without resending; the failed commit is not acknowledged.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 1 : false),
  });
}

/**
 * A Redis Cluster, with the same promise as one server: a command fails at once while the
 * cluster is not ready, and one whose connection dropped is never sent again (ioredis
 * Cluster resends those after `retryDelayOnFailover`: 0 turns that off, so a transaction
 * whose reply was lost fails its commit instead of maybe running twice). MOVED, ASK and
 * TRYAGAIN are still followed: a command refused with them did not run.
 * @throws Error naming the setting that is wrong.
 */
function openStoreCluster(options: ConnectOptions, nodes: SeedNode[]): Cluster {
  if (options.sentinels !== undefined || options.name !== undefined) {
    throw new Error('the Redis store: nodes (Redis Cluster) and sentinels cannot both be set');
  }
  const problem = checkSeedNodes(nodes) ?? checkClusterUrl(options.url);
  if (problem !== undefined) throw new Error(`the Redis store: ${problem}`);
  return openCluster(
    options.url,
    nodes,
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      slotsRefreshTimeout: options.connectTimeoutMs,
    },
    {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
    },
  );
}

/** `host:port, ...` of the seed nodes, for errors. */
function describeNodes(nodes: SeedNode[]): string {
  return `the Redis Cluster at ${nodes.map(({ host, port }) => `${host}:${port}`).join(', ')}`;
}

/**
 * What ioredis takes, besides the URL, to reach the master through Sentinel (empty without
 * sentinels): the sentinels, the master name, and TLS for the master with `rediss://`.
 * @throws Error naming the setting that is wrong.
 */
function sentinelSettings(options: ConnectOptions): Record<string, unknown> {
  const { sentinels } = options;
  if (sentinels === undefined) {
    if (options.name !== undefined) {
      throw new Error(
        `the Redis store: name "${options.name}" (a Sentinel master) needs sentinels`,
      );
    }
    return {};
  }
  if (sentinels.length === 0) throw new Error('the Redis store: the list of sentinels is empty');
  const name = options.name ?? new URL(options.url).hostname;
  if (name === '') throw new Error('the Redis store: the Sentinel master name is empty');
  return { sentinels, name, enableTLSForSentinelMode: options.url.startsWith('rediss:') };
}

/** Clients being closed on purpose: their connection's end is not "lost". */
const closing = new WeakSet<RedisClient>();

/** Closes `client`: QUIT, bounded by `timeoutMs`, then drops the socket and stops reconnecting. */
export async function closeRedis(client: RedisClient, timeoutMs: number): Promise<void> {
  closing.add(client);
  let timer: NodeJS.Timeout | undefined;
  const quit = client.quit().then(
    () => {},
    () => {},
  );
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([quit, timeout]);
  clearTimeout(timer);
  client.disconnect();
}

/** Logs a lost connection once (not every reconnect attempt) and its return. */
function watchConnection(client: RedisClient, server: string, logger: Logger): void {
  let lost = false;
  client.on('error', (err: Error) => {
    if (lost || closing.has(client)) return;
    lost = true;
    logger.error({ server, err }, 'store: Redis connection lost; reconnecting');
  });
  client.on('close', () => {
    if (lost || closing.has(client)) return;
    lost = true;
    logger.error({ server }, 'store: Redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.info({ server }, 'store: Redis connection back');
  });
}
