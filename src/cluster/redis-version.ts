/**
 * The oldest Redis a cluster runs on. A forward is `XADD ... NOMKSTREAM` (outbox.ts) and an
 * inbox is trimmed with `XTRIM MINID` (inbox.ts), both Redis 6.2: on an older server every
 * forward would fail (an error per batch, logged as a failed write), so a node refuses to
 * start there, saying why. Debian 12 ships 7.0; Debian 11 and Ubuntu 22.04 ship 6.0.
 */
import type { RedisClient } from '../redis/redis-client.js';

/** The oldest Redis version a cluster node starts on: [major, minor]. */
export const MIN_REDIS_VERSION = [6, 2] as const;

/**
 * Why a server whose `INFO server` reply is `info` is too old, or undefined when it is recent
 * enough or does not say (a proxy that answers no version: let its commands tell).
 */
export function tooOldRedis(info: string): string | undefined {
  const found = /^redis_version:(\d+)\.(\d+)/m.exec(info);
  if (found === null) return undefined;
  const [major, minor] = [Number(found[1]), Number(found[2])];
  const [minMajor, minMinor] = MIN_REDIS_VERSION;
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return `cluster: Redis ${major}.${minor} is too old: a cluster needs Redis ${minMajor}.${minMinor} or later (XADD NOMKSTREAM, XTRIM MINID)`;
}

/**
 * @throws Error when the server `redis` talks to (on a Redis Cluster, the one ioredis picks)
 * is older than {@link MIN_REDIS_VERSION}.
 */
export async function requireRedisVersion(redis: RedisClient): Promise<void> {
  const reason = tooOldRedis(String(await redis.info('server')));
  if (reason !== undefined) throw new Error(reason);
}
