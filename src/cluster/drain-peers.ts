/**
 * Where a draining node sends its clients and sessions: the peers' advertised addresses
 * (`addresses`: node id -> `host:port`, `cluster.advertise`), lowest node id first; and the
 * peer's side of the hand-over.
 */
import type { RedisClient } from '../redis/redis-client.js';
import type { ControlMessage } from './control-message.js';
import type { ClusterKeys } from './keys.js';

/**
 * A draining node hands its sessions over: each whose owner key still names it becomes
 * ours (`adoptOne`: compare-and-set, so a client that connected elsewhere meanwhile keeps its
 * new node) and is read from the store; then the node is answered.
 */
export async function adoptHandedOver(
  message: Extract<ControlMessage, { t: 'adopt' }>,
  adoptOne: (clientId: string) => Promise<boolean>,
  answering: { answerAdopted(to: number, req: string, sessions: number): Promise<void> },
): Promise<void> {
  let adopted = 0;
  for (const clientId of message.clientIds) {
    if (await adoptOne(clientId)) adopted++;
  }
  await answering.answerAdopted(message.from, message.req, adopted);
}

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
