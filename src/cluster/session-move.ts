/**
 * A session moving between two live nodes (issue #11: nothing acknowledged is lost when a
 * client reconnects on node N while node S holds its session). Without care, what is
 * published in the few ms between S letting go and N routing the session is lost: a peer
 * that has not seen N's route yet routes to S only, and forwards already in S's inbox find
 * no session there. So the move goes in steps, none of them a relay:
 *
 * 1. N asks S to **hold**: S closes the client's connection (v5 DISCONNECT 0x8E,
 *    [MQTT-3.1.4-3]) but keeps the session offline, with its routes: what reaches S is queued
 *    for it in the shared store, as for any offline session.
 * 2. N reads the session's subscriptions from the store and routes them to a stand-in that
 *    parks what it gets (session-arrival.ts); it waits until its route table is announced.
 * 3. N asks S to **release**. S runs the **route barrier**: it asks every member (read from
 *    Redis: N and S included) to append a marker to S's inbox; a peer's control message comes after N's route
 *    announcement (both published, in causal order, through Redis), so the peer has applied
 *    N's route when it appends the marker, after its pending forwards (one flush, one
 *    connection). S reads its inbox in order: once it has every member's marker (a node whose
 *    lease is gone is excused: it routes nothing more; after two leases it goes on with a
 *    warning naming the client), nothing
 *    still on its way can reach S that was routed to S only. S lets go (evicts, commits,
 *    releases the owner key) and answers.
 * 4. N reads the session (with what S queued) and delivers the parked messages it lacks (by
 *    message id). What S gets after it let go was also routed to N: S drops it (no session).
 *
 * A drain hands all of a node's sessions over the same way (drain-peers.ts, releaseAll).
 */
import type { BrokerCore } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { publish, type RedisClient } from '../redis/redis-client.js';
import type { ControlMessage } from './control-message.js';
import type { ClusterKeys } from './keys.js';
import type { Outbox } from './outbox.js';
import { type NodeIdentity, releaseOwner } from './owners.js';
import type { ArrivalCounters, ArrivingSession, SessionArrivals } from './session-arrival.js';

/** How often a route barrier looks again for markers and leases (ms). */
const BARRIER_POLL_MS = 50;
/** How long a route barrier waits for a marker at most, in leases (`timeoutMs`). */
const BARRIER_LEASES = 2;
/** How long a release is waited for, in leases: the barrier, then the answer. */
export const RELEASE_LEASES = BARRIER_LEASES + 1;

/** Sends a control request and resolves with its answer (undefined: none in time). */
export type AskNode = (
  nodeId: number,
  request: ControlMessage & { req: string },
  timeoutMs: number,
) => Promise<ControlMessage | undefined>;

/** What the moves need of the node. */
export interface SessionMoveParts {
  readonly core: BrokerCore;
  readonly redis: RedisClient;
  readonly keys: ClusterKeys;
  readonly self: NodeIdentity;
  readonly outbox: Outbox;
  readonly logger: Logger;
  /** How long a peer's answer, or a route barrier, is waited for (ms). */
  readonly timeoutMs: number;
  readonly ask: AskNode;
  /** This node no longer owns `clientId` (before it lets go of the session). */
  readonly disown: (clientId: string) => void;
  /** Stand-ins of arriving sessions (undefined without a store the nodes share). */
  readonly arrivals: SessionArrivals | undefined;
}

/** What asking a node to hand a session over gave. */
export interface MoveResult {
  /** False when the node did not answer in time (it may be dead, or overloaded). */
  readonly answered: boolean;
  /** The stand-in parking messages for the session, to land once it is read here. */
  readonly arriving?: ArrivingSession | undefined;
}

/** What {@link SessionMoves.status} reports. */
export interface MoveCounters extends ArrivalCounters {
  /** Route barriers that timed out here (a live peer's marker missing). */
  barrierTimeouts: number;
}

/** Both ends of session moves: asking a peer for a session, and handing one over. */
export class SessionMoves {
  /** Per route barrier under way here (its move id): the nodes whose marker came. */
  private readonly markers = new Map<string, Set<number>>();
  private readonly wakers = new Map<string, () => void>();
  /** Settles once the recovery of dead nodes' sessions under way is done. */
  recovery: Promise<void> = Promise.resolve();
  /** Route barriers that timed out (a marker missing from a live peer). */
  barrierTimeouts = 0;

  constructor(private readonly parts: SessionMoveParts) {}

  private get ownerValue(): string {
    return `${this.parts.self.nodeId}/${this.parts.self.instance}`;
  }

  /** Asks node `nodeId` to hold `clientId`'s session, routes it here parked, then to let go. */
  async moveFrom(clientId: string, nodeId: number): Promise<MoveResult> {
    const { ask, timeoutMs, arrivals } = this.parts;
    const from = this.parts.self.nodeId;
    const held = await ask(nodeId, { t: 'hold', clientId, from, req: '' }, timeoutMs);
    if (held?.t !== 'held') return { answered: false };
    if (!held.session) return { answered: true };
    const arriving = await arrivals?.begin(clientId);
    // The barrier may take up to BARRIER_LEASES on the other node: wait for it and an answer.
    const release = { t: 'release', clientId, from, req: '' } as const;
    if ((await ask(nodeId, release, RELEASE_LEASES * timeoutMs)) === undefined) {
      if (arriving) arrivals?.cancel(arriving, `node ${nodeId} did not let go in time`);
      return { answered: false };
    }
    return { answered: true, arriving };
  }

  /** Counters of moves into and out of this node. */
  status(): MoveCounters {
    const arrivals = this.parts.arrivals?.counters;
    return {
      arrived: arrivals?.arrived ?? 0,
      delivered: arrivals?.delivered ?? 0,
      duplicates: arrivals?.duplicates ?? 0,
      dropped: arrivals?.dropped ?? 0,
      barrierTimeouts: this.barrierTimeouts,
    };
  }

  /**
   * The session moved here (its owner key is ours): it is read now through `load` (the store
   * loader: the claim that follows finds it in memory), and what was parked for it meanwhile
   * goes to it.
   */
  async land(arriving: ArrivingSession, load: () => Promise<void> | undefined): Promise<void> {
    const { core } = this.parts;
    let loading = load();
    // A mark left by an abandoned claim ("read, no session") answers at once: read for real.
    if (loading === undefined && !core.sessions.has(arriving.clientId)) loading = load();
    try {
      await loading;
    } catch (err) {
      this.cancel(arriving, 'the session could not be read');
      throw err;
    }
    const session = core.sessions.get(arriving.clientId);
    if (session === undefined) this.cancel(arriving, 'the store holds no session');
    else await this.parts.arrivals?.land(arriving, session);
  }

  /** A move did not complete: the stand-in leaves the router. */
  cancel(arriving: ArrivingSession, why: string): void {
    this.parts.arrivals?.cancel(arriving, why);
  }

  /**
   * Step 1 on the node holding the session: close the connection [MQTT-3.1.4-3], keep the
   * session (offline, routed) and commit it; answer whether a session is held.
   */
  async hold(clientId: string, from: number, req: string): Promise<void> {
    await this.recovery; // a dead node's sessions get its unread inbox first
    const { core, logger } = this.parts;
    const session = core.sessions.get(clientId);
    if (session?.output !== undefined) {
      logger.info({ clientId, node: from }, 'cluster: session taken over by another node');
      session.output.takeOver(); // v5: DISCONNECT 0x8E Session taken over
    }
    const kept = core.sessions.has(clientId);
    if (kept) await this.commit(clientId);
    else await this.letGo(clientId, from, undefined); // it ended with its connection
    await this.answer(from, { t: 'held', req, session: kept }, clientId);
  }

  /** Step 3 on the node holding the session: the route barrier, then let go of it. */
  async release(clientId: string, from: number, req: string): Promise<void> {
    await this.recovery;
    if (this.parts.core.sessions.has(clientId)) {
      await this.barrier(`${from}:${req}`, clientId, from);
    }
    await this.letGo(clientId, from, req);
  }

  /**
   * A drain hand-over's last step on the draining node (its clients are gone, their sessions
   * held and routed here): the route barrier, then every session of `clientIds` leaves memory
   * and the router (kept in the store; the peer takes their owner keys), commit, answer.
   */
  async releaseAll(clientIds: readonly string[], from: number, req: string): Promise<void> {
    const { core, logger } = this.parts;
    await this.barrier(`${from}:${req}`, `${clientIds.length} sessions handed over`, from);
    let evicted = 0;
    for (const clientId of clientIds) if (core.registry.evict(clientId)) evicted++;
    logger.info({ node: from, sessions: evicted }, 'cluster: sessions handed over');
    await this.commit(undefined);
    await this.answer(from, { t: 'released', req }, undefined);
  }

  /**
   * The peer's side of a drain hand-over: stand-ins for the sessions of `clientIds`, routed
   * and announced; then the draining node is asked to let go of them (after its barrier).
   * Resolves with the stand-ins, or undefined when it did not answer in time (none kept).
   */
  async receiveAll(
    nodeId: number,
    clientIds: string[],
  ): Promise<Map<string, ArrivingSession> | undefined> {
    const { ask, timeoutMs, arrivals } = this.parts;
    const arriving = (await arrivals?.beginAll(clientIds)) ?? new Map<string, ArrivingSession>();
    const from = this.parts.self.nodeId;
    const release = { t: 'releaseAll', clientIds, from, req: '' } as const;
    if ((await ask(nodeId, release, RELEASE_LEASES * timeoutMs)) !== undefined) return arriving;
    for (const stand of arriving.values()) this.cancel(stand, `node ${nodeId} did not let go`);
    return undefined;
  }

  /** A session handed over was read here (adopted): what was parked for it goes to it. */
  async landAdopted(arriving: ArrivingSession): Promise<void> {
    const session = this.parts.core.sessions.get(arriving.clientId);
    if (session === undefined) this.cancel(arriving, 'the session was not adopted');
    else await this.parts.arrivals?.land(arriving, session);
  }

  /**
   * Closes a connection still holding the session, evicts it (it stays in the store; its
   * routes here go), commits, releases the owner key and answers `req` (if any).
   */
  async letGo(clientId: string, from: number, req: string | undefined): Promise<void> {
    const { core, logger, redis, keys } = this.parts;
    this.parts.disown(clientId);
    const session = core.sessions.get(clientId);
    if (session?.output !== undefined) {
      logger.info({ clientId, node: from }, 'cluster: session taken over by another node');
      session.output.takeOver();
    }
    if (core.registry.evict(clientId)) {
      logger.info({ clientId, node: from }, 'cluster: session moved to another node');
    }
    await this.commit(clientId);
    try {
      await releaseOwner(redis, keys.owner(clientId), this.ownerValue);
    } catch (err) {
      logger.warn({ err: String(err), clientId }, 'cluster: releasing a moved session failed');
    }
    if (req !== undefined) await this.answer(from, { t: 'released', req }, clientId);
  }

  /** Another node's route barrier: a marker to its inbox, after what was routed to it so far. */
  onBarrier(to: number, move: string): void {
    this.parts.outbox.mark(to, `${this.parts.self.nodeId} ${move}`);
  }

  /** A marker read from this node's inbox (after every forward its node sent before it). */
  onMarker(marker: string): void {
    const space = marker.indexOf(' ');
    const got = this.markers.get(marker.slice(space + 1));
    if (space < 0 || got === undefined) return; // a barrier that ended (timed out)
    got.add(Number(marker.slice(0, space)));
    this.wakers.get(marker.slice(space + 1))?.();
  }

  /**
   * Waits until every member (and this node, and the node the session moves to) appended its
   * marker for `move` to this node's inbox and this node read it; a member whose lease ended
   * meanwhile is excused. The members are read from Redis, not from the last heartbeat: a
   * node that joined since routes too.
   */
  private async barrier(move: string, what: string, to: number): Promise<void> {
    const { redis, keys, logger, timeoutMs } = this.parts;
    const self = this.parts.self.nodeId;
    const got = new Set<number>();
    this.markers.set(move, got);
    try {
      const members = (await redis.smembers(keys.members)).map(Number);
      const expected = new Set([...members.filter(Number.isInteger), self, to]);
      const text = JSON.stringify({ t: 'barrier', to: self, req: move });
      // A node that joined and is not subscribed to its control channel yet hears nothing
      // (PUBLISH reaches 0 receivers): asked again each round until it hears it. (On a Redis
      // Cluster the count is the receiving Redis node's only: a node subscribed elsewhere is
      // asked again, and its extra markers are ignored.)
      const unheard = new Set<number>(expected);
      const ask = async (nodes: Iterable<number>): Promise<void> => {
        await Promise.all(
          [...nodes].map(async (node) => {
            if ((await publish(redis, keys.control(node), text)) > 0) unheard.delete(node);
          }),
        );
      };
      await ask(expected);
      // A peer killed just after it renewed its lease is excused only once the lease expired.
      const deadline = Date.now() + BARRIER_LEASES * timeoutMs;
      for (;;) {
        const missing = await this.missingMarkers(expected, got);
        if (missing.length === 0) return;
        await ask(missing.filter((node) => unheard.has(node)));
        if (Date.now() >= deadline) {
          this.barrierTimeouts++;
          logger.warn(
            { clientId: what, missing },
            'cluster: session move: route barrier timed out; letting go without it (messages published meanwhile may miss the session)',
          );
          return;
        }
        await this.wake(move);
      }
    } catch (err) {
      logger.warn(
        { err: String(err), clientId: what },
        'cluster: session move: route barrier failed',
      );
    } finally {
      this.markers.delete(move);
      this.wakers.delete(move);
    }
  }

  /**
   * The nodes of `expected` whose marker has not come and whose lease is still held (a node
   * killed during the barrier is excused once its lease expired: it routes nothing more).
   */
  private async missingMarkers(expected: Set<number>, got: Set<number>): Promise<number[]> {
    const { redis, keys } = this.parts;
    const self = this.parts.self.nodeId;
    const missing: number[] = [];
    for (const node of expected) {
      if (got.has(node)) continue;
      if (node !== self && (await redis.exists(keys.lease(node))) === 0) continue;
      missing.push(node);
    }
    return missing;
  }

  /** Resolves when a marker of `move` came, or after BARRIER_POLL_MS. */
  private wake(move: string): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, BARRIER_POLL_MS);
      const wakers = this.wakers;
      function done(): void {
        clearTimeout(timer);
        wakers.delete(move);
        resolve();
      }
      wakers.set(move, done);
    });
  }

  /** Everything written of the session is in the store (the other node reads it next). */
  private async commit(clientId: string | undefined): Promise<void> {
    try {
      await this.parts.core.persistence?.commit();
    } catch (err) {
      this.parts.logger.warn(
        { err: String(err), clientId },
        'cluster: committing a moved session failed',
      );
    }
  }

  /** Answers a draining node's hand-over of its sessions (drain-peers.ts). */
  async answerAdopted(to: number, req: string, sessions: number): Promise<void> {
    this.parts.logger.info({ node: to, sessions }, 'cluster: adopted sessions');
    await this.answer(to, { t: 'released', req }, undefined);
  }

  private async answer(
    to: number,
    answer: ControlMessage,
    clientId: string | undefined,
  ): Promise<void> {
    try {
      await publish(this.parts.redis, this.parts.keys.control(to), JSON.stringify(answer));
    } catch (err) {
      this.parts.logger.warn(
        { err: String(err), clientId },
        'cluster: answering a takeover failed',
      );
    }
  }
}
