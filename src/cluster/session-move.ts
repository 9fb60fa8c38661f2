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
 * 3. N asks S to **release**. S runs the **route barrier** (route-barrier.ts): it asks every
 *    member (read from Redis: N and S included) to append a marker to S's inbox; a peer's
 *    control message comes after N's route announcement (both published, in causal order,
 *    through Redis), so the peer has applied N's route when it appends the marker, after its
 *    pending forwards (one flush, one connection). S reads its inbox in order: once it has
 *    every member's marker (a node whose lease is gone is excused: it routes nothing more;
 *    after two leases it goes on with a warning naming the client), nothing still on its way
 *    can reach S that was routed to S only. S commits what it read, hands the owner key to N
 *    (compare-and-set: the key never goes free in between, so no third node can claim the
 *    client id then, and a kill of S from here on leaves the session to N, not to a survivor),
 *    then lets go (evicts, commits) and answers. It hands the key over only while N still
 *    waits (move-token.ts); if N gave up, S keeps the session, offline and routed, and answers;
 *    if the client connected to S again since the hold, S keeps it too and says so (`kept`):
 *    N drops its stand-in (all it parked reached S) and refuses its connect (0x88). On a
 *    clean start it ends the session instead of handing it on: a delayed will is sent now
 *    [MQTT-3.1.3-9], as on one node.
 * 4. N reads the session (with what S queued) and delivers the parked messages it lacks (by
 *    message id). What S gets after it let go was also routed to N: S drops it (no session).
 *    If S's answer does not come (S died after handing the key over, or is slow), N keeps the
 *    stand-in and withdraws its word that it waits (a release S reads later keeps the session
 *    on S): once the key is N's (or free) the session lands with it; if S died before, its
 *    routes held and every parked message also went to S's inbox, which the survivor that
 *    adopts the session delivers: the stand-in is dropped.
 *
 * Steps for one client id are handled one at a time on a node (a second takeover from a third
 * node waits for the first move), and after this node's own claim of it (a hold for a session
 * still landing here waits for the landing): one owner at a time, nothing parked left behind.
 *
 * A drain hands all of a node's sessions over the same way (drain-peers.ts, releaseAll).
 *
 * This file is the asking (new) node's side and the landing; session-hold.ts is the holding
 * (old) node's side (hold, release, let go), which SessionMoves extends.
 */
import type { RedisClient } from '../redis/redis-client.js';
import type { ControlMessage } from './control-message.js';
import type { ClusterKeys } from './keys.js';
import { awaitHold, awaitMove, withdrawHold, withdrawMove } from './move-token.js';
import { BARRIER_LEASES } from './route-barrier.js';
import type { ArrivalCounters, ArrivingSession } from './session-arrival.js';
import { SessionHolding } from './session-hold.js';

export type { AskNode, ReleaseRequest, SessionMoveParts } from './session-hold.js';

/** How often a node waiting for a release looks whether the releasing node's lease is gone (ms). */
const LEASE_POLL_MS = 100;

/** How long a release is waited for, in leases: the barrier, then the answer. */
export const RELEASE_LEASES = BARRIER_LEASES + 1;

/**
 * Resolves false once node `nodeId`'s lease is gone (it died: it answers nothing more), looked
 * at every {@link LEASE_POLL_MS}; never settles once `done()` is true (the answer raced
 * against it settled). Redis unreachable: it keeps looking, the answer's own timeout decides.
 */
export async function leaseGone(
  redis: RedisClient,
  keys: ClusterKeys,
  nodeId: number,
  done: () => boolean,
): Promise<false> {
  while (!done()) {
    await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
    if (done()) break;
    try {
      if ((await redis.exists(keys.lease(nodeId))) === 0) return false;
    } catch {
      // Redis unreachable: the answer's own timeout decides.
    }
  }
  return new Promise<false>(() => {}); // the answer settled first: this never wins the race
}

/** What asking a node to hand a session over gave. */
export interface MoveResult {
  /** False when the node did not answer in time (it may be dead, or overloaded). */
  readonly answered: boolean;
  /**
   * The stand-in parking messages for the session, to land once it is read here (kept also
   * when the release was not answered: the owner key may be ours already).
   */
  readonly arriving?: ArrivingSession | undefined;
  /**
   * The node kept the session: its client connected there again since the hold (the move is
   * abandoned: the stand-in is to be dropped, the old node routed everything it parked).
   */
  readonly kept?: boolean;
}

/** What {@link SessionMoves.status} reports. */
export interface MoveCounters extends ArrivalCounters {
  /** Route barriers that timed out here (a live peer's marker missing). */
  barrierTimeouts: number;
  /** Holds read here after the asking node gave up on them: nothing done. */
  staleHolds: number;
  /** Releases read here after the client connected here again since the hold: the session kept. */
  keptReturned: number;
}

/** Both ends of session moves: asking a peer for a session, and handing one over. */
export class SessionMoves extends SessionHolding {
  /**
   * Asks node `nodeId` to hold `clientId`'s session, routes it here parked, then to hand it
   * over (`clean`: the new connection starts clean, the session ends there instead).
   */
  async moveFrom(clientId: string, nodeId: number, clean = false): Promise<MoveResult> {
    const { ask, timeoutMs, arrivals, redis, keys } = this.parts;
    const from = this.parts.self.nodeId;
    const owner = this.ownerValue;
    // The old node holds only while this word stands (move-token.ts); it expires a lease after
    // the wait, for a node that dies waiting.
    await awaitHold(redis, keys, clientId, owner, 2 * timeoutMs);
    let held: ControlMessage | undefined;
    try {
      held = await ask(nodeId, { t: 'hold', clientId, from, req: '', owner }, timeoutMs);
    } finally {
      // Given up: withdrawn before the client is refused (it may connect to the old node next).
      const withdrawn = withdrawHold(redis, keys, clientId, owner).catch(() => {});
      if (held === undefined) await withdrawn;
    }
    if (held?.t !== 'held') return { answered: false };
    if (!held.session) return { answered: true };
    const arriving = await arrivals?.begin(clientId);
    try {
      const answer = await this.askRelease(clientId, nodeId, clean);
      return { answered: answer !== undefined, arriving, kept: answer?.kept === true };
    } catch (err) {
      if (arriving) this.cancel(arriving, 'the release could not be asked for');
      throw err; // the request could not be sent (Redis unreachable): the claim fails (0x88)
    }
  }

  /**
   * Step 3 from the new node: says that it waits (move-token.ts), asks for the release and
   * waits for the answer; once it gives up, it withdraws, so that a late release keeps the
   * session on the old node rather than hand it to a node that no longer waits. The answer,
   * or undefined without one (the owner key then says where the session is, either way).
   */
  private async askRelease(
    clientId: string,
    nodeId: number,
    clean: boolean,
  ): Promise<Extract<ControlMessage, { t: 'released' }> | undefined> {
    const { ask, timeoutMs, redis, keys } = this.parts;
    const from = this.parts.self.nodeId;
    const owner = this.ownerValue;
    // The barrier may take up to BARRIER_LEASES on the other node: wait for it and an answer.
    const waitMs = RELEASE_LEASES * timeoutMs;
    await awaitMove(redis, keys, clientId, owner, waitMs + timeoutMs);
    const release = { t: 'release', clientId, from, req: '', owner, clean } as const;
    let settled = false;
    const answer = ask(nodeId, release, waitMs).finally(() => {
      settled = true;
    });
    // A node that died after handing the key over never answers: stop waiting once its lease
    // is gone (the owner key then says where the session is) rather than after three leases.
    const answered = await Promise.race([
      answer.then((a) => (a?.t === 'released' ? a : undefined)),
      leaseGone(redis, keys, nodeId, () => settled).then(() => undefined),
    ]);
    if (answered === undefined) await withdrawMove(redis, keys, clientId, owner);
    // Answered: the old node took the token with the key, kept the session, or let go without one.
    else void withdrawMove(redis, keys, clientId, owner).catch(() => {});
    return answered;
  }

  /** Counters of moves into and out of this node. */
  status(): MoveCounters {
    const arrivals = this.parts.arrivals?.counters;
    return {
      arrived: arrivals?.arrived ?? 0,
      delivered: arrivals?.delivered ?? 0,
      duplicates: arrivals?.duplicates ?? 0,
      dropped: arrivals?.dropped ?? 0,
      barrierTimeouts: this.barriers.timeouts,
      staleHolds: this.staleHolds,
      keptReturned: this.keptReturned,
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
      this.cancel(arriving, 'the session could not be read', err);
      throw err;
    }
    const session = core.sessions.get(arriving.clientId);
    if (session === undefined) this.cancel(arriving, 'the store holds no session');
    else await this.parts.arrivals?.land(arriving, session);
  }

  /** A move did not complete: the stand-in leaves the router (`failure`: see SessionArrivals). */
  cancel(arriving: ArrivingSession, why: string, failure?: unknown): void {
    this.parts.arrivals?.cancel(arriving, why, failure);
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
}
