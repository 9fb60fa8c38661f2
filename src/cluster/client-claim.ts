/**
 * A connect's claim of a client id this node holds no session for [MQTT-3.1.4-3]: read the
 * owner key; when a live peer holds the id, move its session here (session-move.ts); then
 * take the key by compare-and-set (another node may have claimed it meanwhile: read again, a
 * few rounds). Without Redis no node can tell who holds the client id: the client is refused
 * with 0x88 Server unavailable (v3: 0x03) at once rather than left waiting, and it is logged.
 */

import type { SessionLoader } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { recoveringError } from './dead-node-recovery.js';
import type { FreeClaimGate } from './free-claim-gate.js';
import type { ClusterKeys } from './keys.js';
import { claimOwner, type NodeIdentity, parseOwner, releaseOwner } from './owners.js';
import type { ReplicaWait } from './replica-wait.js';
import type { ArrivingSession } from './session-arrival.js';
import type { SessionMoves } from './session-move.js';

/**
 * Rounds of read, release and compare-and-set one connect's claim of a client id may take
 * before it is refused (0x88): each lost round means another node claimed it meanwhile. A
 * round that asked a live node for the session is always followed by one more read (the key
 * may be this node's now), which may take the key but asks no node again past this count.
 */
const CLAIM_ATTEMPTS = 4;

/** What a claim needs of the node. */
export interface ClaimParts {
  readonly redis: RedisClient;
  readonly keys: ClusterKeys;
  readonly self: NodeIdentity;
  readonly logger: Logger;
  readonly moves: SessionMoves;
  /** The store's loader (undefined without a store the nodes share). */
  readonly next: SessionLoader | undefined;
  /** Client ids whose owner key this node took (the claim adds to it). */
  readonly owned: Set<string>;
  /** `cluster.wait`: a CONNACK waits for the replicas to have the owner key it took. */
  readonly replicas: ReplicaWait | undefined;
  /** Takes a free owner key once the live peers checked theirs after a failover. */
  readonly gate: FreeClaimGate;
}

/** True when `nodeId`/`instance` is a dead instance of another node that no survivor removed yet. */
export function awaitsRecovery(
  self: NodeIdentity,
  nodeId: number,
  instance: string,
): Promise<boolean> {
  if (nodeId === self.nodeId) return Promise.resolve(false);
  return self.awaitsRecovery(nodeId, instance);
}

/** Claims of client ids by connects on this node. */
export class ClientClaims {
  /** Clients refused because Redis was unreachable (0x88). */
  refusedUnreachable = 0;
  /** Clients refused because too few replicas had their owner key in time (0x88, `cluster.wait`). */
  refusedNotReplicated = 0;

  constructor(private readonly parts: ClaimParts) {}

  private get ownerValue(): string {
    return `${this.parts.self.nodeId}/${this.parts.self.instance}`;
  }

  /**
   * Takes the lock when free (or its owner is dead), else asks the live owner to let go of
   * the client id (and its session) first, then takes it (`clean`: the connect starts clean).
   * @throws MqttError (0x88) when Redis is unreachable or the owner did not let go in time.
   */
  async claim(clientId: string, clean: boolean): Promise<void> {
    if (this.parts.redis.status !== 'ready') throw this.unavailable(clientId);
    try {
      await this.claimOwner(clientId, clean);
    } catch (err) {
      if (err instanceof MqttError) throw err;
      throw this.unavailable(clientId, err);
    }
  }

  private unavailable(clientId: string, err?: unknown): MqttError {
    this.refusedUnreachable++;
    this.parts.logger.warn(
      { clientId, err: err === undefined ? undefined : String(err) },
      'cluster: client refused: RedisClient unreachable, the owner of its client id is unknown',
    );
    return new MqttError(
      ReasonCode.ServerUnavailable,
      'cluster state (Redis) unreachable: the owner of this client id is unknown',
    );
  }

  private async claimOwner(clientId: string, clean: boolean): Promise<void> {
    const { redis, keys, self } = this.parts;
    const key = keys.owner(clientId);
    let arriving: ArrivingSession | undefined;
    let failure: unknown;
    try {
      for (let round = 1; ; round++) {
        const current = await redis.get(key);
        const owner = parseOwner(current);
        const live =
          owner !== undefined &&
          owner.nodeId !== self.nodeId &&
          (await self.isLive(owner.nodeId, owner.instance));
        // Its node died, not yet removed: the survivor adopts it first (with the inbox's rest).
        if (owner && !live && (await awaitsRecovery(self, owner.nodeId, owner.instance))) {
          // It died before handing the key over: its routes stood until a survivor routed the
          // session, so what was parked went to its inbox too (or was refused): not a failure.
          this.cancelArrival(arriving, 'its node died before handing the session over');
          arriving = undefined;
          throw recoveringError(owner.nodeId);
        }
        if (live) {
          // The session moved on to another node meanwhile: what was parked is its now.
          this.cancelArrival(arriving, 'the session moved on to another node');
          arriving = undefined;
          if (round > CLAIM_ATTEMPTS) throw this.contended();
          // Before the session is read: a live peer must write its last state and stop writing.
          arriving = await this.requestRelease(clientId, owner.nodeId, clean);
          // Always read again after a move, even after the last one allowed: the old node may
          // have handed the key here and let go. Refusing then (as the round count once did)
          // dropped the stand-in while no node held the session: it sat in the store
          // unrouted, and what was published for it until its client connected again (on
          // the old node, the 0x88's sender) matched nothing.
          continue;
        }
        // Free, ours (handed over by the node that held it, even if its answer never came),
        // or its owner died: taken only if still so (compare-and-set); a stand-in lands. A
        // free key may be one a failover lost while a live peer holds the session: taken once
        // the peers wrote theirs back (free-claim-gate.ts); one written back meanwhile fails
        // the take, and the next round asks its node.
        const taken =
          current === null
            ? await this.parts.gate.take(key, this.ownerValue)
            : await claimOwner(redis, key, current, this.ownerValue);
        if (taken) break;
        if (round >= CLAIM_ATTEMPTS) throw this.contended();
      }
      // A session handed over by a live node is not refused here: it let go of it already;
      // its owner key only rides the next WAIT (counted if short).
      if (arriving === undefined) await this.replicated(clientId);
      else this.parts.replicas?.follow('the owner key of a session moved here', { clientId });
      this.parts.owned.add(clientId);
      const landing = arriving;
      arriving = undefined;
      // A session read here is claimed without asking the loader again; otherwise the
      // registry's next ask finds the client id owned here and reads the session then.
      if (landing !== undefined) await this.land(clientId, landing);
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      // The old node may have let go already (the key handed here): the publishes here whose
      // acknowledgements wait for this landing are refused (sent again), not acknowledged.
      this.cancelArrival(arriving, 'the takeover failed', failure);
    }
  }

  /** The refusal of a claim that lost its rounds to other nodes' claims (0x88). */
  private contended(): MqttError {
    return new MqttError(
      ReasonCode.ServerUnavailable,
      'client id is being claimed by other cluster nodes at the same time; try again',
    );
  }

  /**
   * With `cluster.wait`: waits until the replicas have the owner key just taken, else lets
   * go of it and refuses the client (0x88), as a forward is refused: a failover to a replica
   * without it would let another node take the client while this one holds its session.
   * The client's next connect claims the key again and waits again.
   */
  private async replicated(clientId: string): Promise<void> {
    const { replicas, redis, keys, logger } = this.parts;
    if (replicas === undefined) return;
    const acked = await replicas.after().catch(() => -1);
    if (replicas.enough(acked)) return;
    this.refusedNotReplicated++;
    releaseOwner(redis, keys.owner(clientId), this.ownerValue).catch((err: unknown) => {
      logger.warn({ err: String(err), clientId }, 'cluster: releasing the owner failed');
    });
    throw new MqttError(
      ReasonCode.ServerUnavailable,
      'the owner key of this client id is not on enough Redis replicas (cluster.wait); try again',
    );
  }

  /** The session moved here: it is read now, and what was parked for it goes to it. */
  private land(clientId: string, arriving: ArrivingSession): Promise<void> {
    return this.parts.moves.land(arriving, () => this.parts.next?.load(clientId));
  }

  /** `failure`: the session may have been let go of for this node (see SessionArrivals.cancel). */
  private cancelArrival(
    arriving: ArrivingSession | undefined,
    why: string,
    failure?: unknown,
  ): void {
    if (arriving !== undefined) this.parts.moves.cancel(arriving, why, failure);
  }

  /**
   * Asks node `nodeId` to hand `clientId`'s session over; resolves once it did (or died),
   * with the stand-in that parked messages for the session meanwhile (if any). Without an
   * answer the stand-in is kept: the node may have handed the owner key over and died before
   * answering (the session then lands here with it); the caller's next round decides.
   */
  private async requestRelease(
    clientId: string,
    nodeId: number,
    clean: boolean,
  ): Promise<ArrivingSession | undefined> {
    const { redis, keys, self, moves } = this.parts;
    const moved = await moves.moveFrom(clientId, nodeId, clean);
    if (moved.kept) {
      // The client connected to that node again since the hold (this connect is the older
      // one) [MQTT-3.1.4-3]: the session stays there, routed all along, so what the stand-in
      // parked reached it too; dropped here, not delivered again.
      this.cancelArrival(moved.arriving, `its client connected to node ${nodeId} again`);
      throw new MqttError(
        ReasonCode.ServerUnavailable,
        `client id connected to cluster node ${nodeId} again meanwhile, which keeps its session`,
      );
    }
    if (moved.answered) return moved.arriving;
    const owner = parseOwner(await redis.get(keys.owner(clientId)));
    if (owner && owner.nodeId === nodeId && (await self.isLive(owner.nodeId, owner.instance))) {
      this.cancelArrival(moved.arriving, `node ${nodeId} did not let go in time`);
      throw new MqttError(
        ReasonCode.ServerUnavailable,
        `client id is held by cluster node ${nodeId}, which did not let go in time`,
      );
    }
    return moved.arriving;
  }
}
