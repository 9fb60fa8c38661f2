/**
 * Where a draining node sends its clients and sessions: the peers' advertised addresses
 * (`addresses`: node id -> `host:port`, `cluster.advertise`), lowest node id first; and the
 * draining node's side of the hand-over of its sessions, and the peer's.
 */
import type { BrokerCore } from '../core/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ControlMessage } from './control-message.js';
import type { ClusterKeys } from './keys.js';
import type { SessionMoves } from './session-move.js';

/**
 * A draining node hands its sessions over (still holding them, routed): they are routed here
 * to stand-ins (parked), the draining node lets go of them after a route barrier
 * (session-move.ts), then each whose owner key still names it becomes ours (`adoptOne`:
 * compare-and-set, so a client that connected elsewhere meanwhile keeps its new node) and is
 * read from the store with what was parked for it; then the node is answered. If it does not
 * let go in time, nothing is adopted: it lets go by itself, and the sessions wait in the store.
 */
export async function adoptHandedOver(
  message: Extract<ControlMessage, { t: 'adopt' }>,
  adoptOne: (clientId: string) => Promise<boolean>,
  moves: SessionMoves,
): Promise<void> {
  let adopted = 0;
  const arriving = await moves.receiveAll(message.from, message.clientIds).catch(() => undefined);
  if (arriving !== undefined) {
    for (const clientId of message.clientIds) {
      const stand = arriving.get(clientId);
      if (await adoptOne(clientId)) {
        adopted++;
        if (stand !== undefined) await moves.landAdopted(stand);
      } else if (stand !== undefined) moves.cancel(stand, 'the session was not adopted');
    }
  }
  await moves.answerAdopted(message.from, message.req, adopted);
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

/** What a draining node's hand-over of its sessions needs of its ownership of client ids. */
export interface SessionHandOver {
  /** Hands the sessions of `clientIds` to node `nodeId`; false when it did not answer in time. */
  handOver(nodeId: number, clientIds: string[]): Promise<boolean>;
  /** Lets go of every client id the node holds. */
  releaseAll(): Promise<void>;
}

/**
 * Lets go of every session `core` holds (drain; their connections are closed already): the
 * writes are committed and the sessions handed to `peer` while the node still holds and
 * routes them: the peer routes them, the node lets go of them after a route barrier
 * (session-move.ts), and the peer takes their owner keys and reads them. What is left (no
 * peer, or no answer in time) leaves memory and the route table but stays in the store; the
 * owner keys left are released. Returns how many sessions were let go.
 */
export async function letGoOfSessions(
  core: BrokerCore,
  ownership: SessionHandOver,
  peer: number | undefined,
): Promise<number> {
  const held = [...core.sessions.keys()];
  await core.persistence?.commit();
  if (peer !== undefined && held.length > 0 && core.persistence) {
    await ownership.handOver(peer, held);
  }
  for (const clientId of held) core.registry.evict(clientId);
  await core.persistence?.commit();
  await ownership.releaseAll();
  return held.filter((clientId) => !core.sessions.has(clientId)).length;
}
