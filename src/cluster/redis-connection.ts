/**
 * One of a node's Redis connections (commands, pub/sub, the inbox reader): lazy, RESP2,
 * reconnecting with a capped back-off, and after a failover to the new master (a demoted one
 * answers READONLY). An outage is logged once, not once per attempt.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../ports/index.js';
import { openCluster, type RedisClient } from '../redis/redis-client.js';
import { type ResolvedClusterOptions, sentinelConnection } from './options.js';

/** What a connection tells its node. */
export interface ConnectionEvents {
  /** The connection failed (`message`: why, for a precise reason when joining fails). */
  error(message: string): void;
  /** The connection is ready (again). */
  ready(): void;
  /** The connection closed. */
  closed(): void;
}

/** A connection named `pipit-<role>`, not yet connected. */
export function connectNode(
  options: ResolvedClusterOptions,
  role: string,
  logger: Logger,
  events: ConnectionEvents,
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
    : new Redis(options.url, {
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
    events.ready();
  });
  redis.on('close', () => events.closed());
  return redis;
}
