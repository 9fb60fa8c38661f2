/**
 * One of a node's Redis connections (commands, pub/sub, the inbox reader): lazy, RESP2,
 * reconnecting with a capped back-off, and after a failover to the new master (a demoted one
 * answers READONLY). An outage is logged once, not once per attempt.
 */
import { Cluster } from 'ioredis';
import type { Logger } from '../ports/index.js';
import { followClusterSubscriber } from '../redis/cluster-subscriber.js';
import { openCluster, openRedis, type RedisClient } from '../redis/redis-client.js';
import { type ResolvedClusterOptions, sentinelConnection } from './options.js';

/** What a connection tells its node. */
export interface ConnectionEvents {
  /** The connection failed (`message`: why, for a precise reason when joining fails). */
  error(message: string): void;
  /**
   * The connection is ready (again); for pub/sub on a Redis Cluster, also a new connection
   * to another node after a move (`via`: that node's `host:port`).
   */
  ready?(via?: string): void;
  /** The connection closed. */
  closed?(): void;
}

/**
 * A connection named `pipit-<role>`, not yet connected. With `pubSub` on a Redis Cluster,
 * `ready` and `closed` are those of the connection its subscriptions are on (one node's,
 * which changes when that node fails), not the Cluster client's.
 */
export function connectNode(
  options: ResolvedClusterOptions,
  role: string,
  logger: Logger,
  events: ConnectionEvents,
  pubSub = false,
): RedisClient {
  const redis = options.redisCluster
    ? // On a Redis Cluster, ioredis follows MOVED/ASK (a failover moves the slot to the
      // promoted replica) and resends what a dropped connection left unanswered, as the
      // standalone connection does (autoResendUnfulfilledCommands).
      openCluster(
        options.url,
        options.redisCluster,
        {
          lazyConnect: true,
          clusterRetryStrategy: (attempt) => Math.min(50 * attempt, 1000),
        },
        { protocol: 2, connectionName: `pipit-${role}` },
      )
    : openRedis(options.url, {
        lazyConnect: true,
        protocol: 2,
        connectionName: `pipit-${role}`,
        retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
        // A master demoted by a failover answers READONLY: reconnect to the new one.
        reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 1 : false),
        ...sentinelConnection(options),
      });
  let warned = false;
  redis.on('error', (err: Error) => {
    events.error(err.message);
    // ioredis reconnects by itself; one line per outage, not one per attempt.
    if (!warned) logger.warn({ err: err.message, role }, 'cluster: Redis connection error');
    warned = true;
  });
  redis.on('ready', () => {
    if (warned) logger.info({ role }, 'cluster: Redis connection back');
    warned = false;
  });
  if (pubSub && redis instanceof Cluster) followPubSub(redis, logger, events);
  else {
    redis.on('ready', () => events.ready?.());
    redis.on('close', () => events.closed?.());
  }
  return redis;
}

function followPubSub(redis: Cluster, logger: Logger, events: ConnectionEvents): void {
  if (followClusterSubscriber(redis, events)) return;
  // Another ioredis than the one tested: no resync after a move, but after a reconnection.
  logger.warn(
    {},
    'cluster: cannot follow the pub/sub connection of this ioredis Cluster: announcements missed while it moves to another Redis node are not read again',
  );
  redis.on('ready', () => events.ready?.());
  redis.on('close', () => events.closed?.());
}
