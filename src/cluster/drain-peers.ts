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
 * What goes with the sessions a draining node hands over, besides them: their delayed wills
 * (in the store, and the records of dead nodes' clients' wills it held), neither sent nor
 * cancelled by a drain [MQTT-3.1.3-9] [MQTT-3.1.2-8] (drain-wills.ts, wired in node-wiring.ts).
 */
export interface HandedOver {
  /**
   * Once the draining node let go (it stopped its timers): takes over the wills it held for
   * dead nodes' clients (`orphan-wills:<from>`), then reads the sessions' waiting wills; the
   * function it resolves with puts back the will of one adopted session (not of one whose
   * client connected meanwhile, nor of one whose will waits here already).
   */
  take(from: number): Promise<(clientId: string) => void>;
}

/**
 * A draining node hands its sessions over (still holding them, routed): they are routed here
 * to stand-ins (parked), the draining node lets go of them after a route barrier
 * (session-move.ts) and stops its waiting wills' timers, the wills it held for dead nodes'
 * clients come here (`handedOver`), then each session whose owner key still names it becomes
 * ours (`adoptOne`: compare-and-set, so a client that connected elsewhere meanwhile keeps its
 * new node) and is read from the store with what was parked for it, and its waiting will is
 * put back. Then the node is answered. If it does not let go in time, nothing is adopted (nor
 * its wills taken: it may still send them): it lets go by itself, and the sessions wait in
 * the store (or go to another peer).
 */
export async function adoptHandedOver(
  message: Extract<ControlMessage, { t: 'adopt' }>,
  adoptOne: (clientId: string) => Promise<boolean>,
  moves: SessionMoves,
  handedOver: HandedOver | undefined,
): Promise<void> {
  let adopted = 0;
  const arriving = await moves.receiveAll(message.from, message.clientIds).catch(() => undefined);
  if (arriving !== undefined) {
    const restoreWill = (await handedOver?.take(message.from)) ?? (() => {});
    const settled = new Set<string>();
    try {
      for (const clientId of message.clientIds) {
        const stand = arriving.get(clientId);
        if (await adoptOne(clientId)) {
          adopted++;
          restoreWill(clientId);
          if (stand !== undefined) await moves.landAdopted(stand);
          settled.add(clientId);
        } else if (stand !== undefined) {
          settled.add(clientId);
          moves.cancel(stand, 'the session was not adopted');
        }
      }
    } finally {
      // A failed adoption (a store read that threw) leaves no stand-in routed, nor its pin on
      // the inbox position (parked-position.ts): the ones not settled yet are cancelled. The
      // draining node let go of them: the publishes here they parked are refused (sent again).
      for (const [clientId, stand] of arriving) {
        if (settled.has(clientId)) continue;
        moves.cancel(stand, 'the adoption failed', new Error('the session was not adopted'));
      }
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

/** How a hand-over of sessions to a peer ended. */
export type HandOverOutcome =
  /** The peer answered: it adopted what it could (the owner keys say which). */
  | 'answered'
  /** The peer's lease is gone (it died): it answers nothing more. */
  | 'peerGone'
  /** No answer in time from a peer still live (overloaded, or a lost message). */
  | 'noAnswer';

/** What a draining node's hand-over of its sessions needs of its ownership of client ids. */
export interface SessionHandOver {
  /** Hands the sessions of `clientIds` to node `nodeId` (takeover.ts). */
  handOver(nodeId: number, clientIds: string[]): Promise<HandOverOutcome>;
  /** Lets go of every client id the node holds. */
  releaseAll(): Promise<void>;
}

/**
 * Lets go of every session `core` holds (drain; their connections are closed already): the
 * writes are committed and the sessions handed to `peer` while the node still holds and
 * routes them: the peer routes them, the node lets go of them after a route barrier
 * (session-move.ts), and the peer takes their owner keys and reads them. A peer that died
 * (its lease gone, looked at while its answer is awaited) is not waited for: the sessions go
 * to the next live peer `nextPeer` names (those the dead peer had not adopted: the next
 * peer's compare-and-set on the owner keys decides). What is left (no peer left, or a live
 * one that did not answer in time) leaves memory and the route table but stays in the store
 * with its waiting will, as after a kill: a node that starts later restores it, a client that
 * connects takes it from the store; the wills held for dead nodes' clients stay in
 * `orphan-wills:<id>` for the node that claims this id. The owner keys left are released.
 * Returns how many sessions were let go.
 */
export async function letGoOfSessions(
  core: BrokerCore,
  ownership: SessionHandOver,
  peer: number | undefined,
  nextPeer: (tried: ReadonlySet<number>) => number | undefined,
): Promise<number> {
  const held = [...core.sessions.keys()];
  await core.persistence?.commit();
  const tried = new Set<number>();
  let to = peer;
  while (to !== undefined && held.length > 0 && core.persistence) {
    tried.add(to);
    const outcome = await ownership.handOver(to, held);
    if (outcome !== 'peerGone') break;
    const next = nextPeer(tried);
    core.logger.warn(
      { node: to, next: next ?? null },
      next === undefined
        ? 'cluster: drain: the peer died during the hand-over; no live peer left, the sessions wait in the store'
        : 'cluster: drain: the peer died during the hand-over; handing the sessions to another',
    );
    to = next;
  }
  // What no peer took: the waiting wills leave memory unsent and uncancelled (as in releaseAll).
  core.wills.clear();
  for (const clientId of held) core.registry.evict(clientId);
  await core.persistence?.commit();
  await ownership.releaseAll();
  return held.filter((clientId) => !core.sessions.has(clientId)).length;
}
