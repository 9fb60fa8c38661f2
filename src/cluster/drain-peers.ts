/**
 * Where a draining node sends its clients and sessions: the peers' advertised addresses
 * (`addresses`: node id -> `host:port`, `cluster.advertise`), lowest node id first.
 */
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';

/** The `host:port` the live peer of lowest id that advertises one advertises, or undefined. */
export async function serverReference(
  redis: RedisClient,
  keys: ClusterKeys,
  peers: ReadonlySet<number>,
): Promise<string | undefined> {
  const addresses = await redis.hgetall(keys.addresses);
  for (const peer of [...peers].sort((x, y) => x - y)) {
    const address = addresses[String(peer)];
    if (address !== undefined) return address;
  }
  return undefined;
}

/** The peer a draining node hands its sessions to: the one at `reference`, else the lowest id. */
export async function drainPeer(
  redis: RedisClient,
  keys: ClusterKeys,
  peers: ReadonlySet<number>,
  reference: string | undefined,
): Promise<number | undefined> {
  const sorted = [...peers].sort((x, y) => x - y);
  if (reference !== undefined) {
    const addresses = await redis.hgetall(keys.addresses);
    const referred = sorted.find((peer) => addresses[String(peer)] === reference);
    if (referred !== undefined) return referred;
  }
  return sorted[0];
}
