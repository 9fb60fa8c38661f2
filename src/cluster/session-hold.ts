/**
 * The old node's side of a session move between live nodes (session-move.ts tells the whole
 * move): hold the session (its connection closed, the session kept offline and routed), then
 * release it after the route barrier (the owner key handed to the asking node while it still
 * waits), or let go of it at once; a drain's hand-over of all sessions. SessionMoves adds the
 * asking node's side.
 */
import type { BrokerCore, Session } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { publish, type RedisClient } from '../redis/redis-client.js';
import type { ControlMessage } from './control-message.js';
import type { ClusterKeys } from './keys.js';
import { handOwnerOver, holdAwaited } from './move-token.js';
import type { Outbox } from './outbox.js';
import { type NodeIdentity, releaseOwner } from './owners.js';
import { RouteBarriers } from './route-barrier.js';
import type { SessionArrivals } from './session-arrival.js';

/** A move's first step, as the node holding the session reads it. */
export type HoldRequest = Extract<ControlMessage, { t: 'hold' }>;
/** A move's last step, as the node holding the session reads it. */
export type ReleaseRequest = Extract<ControlMessage, { t: 'release' }>;

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

/** The holding side of session moves: what a node asked for a session it holds does. */
export class SessionHolding {
  /** Route barriers run here, and markers for other nodes' barriers. */
  readonly barriers: RouteBarriers;
  /** Settles once the recovery of dead nodes' sessions under way is done. */
  recovery: Promise<void> = Promise.resolve();
  /** Holds read after the asking node gave up on them or died (nothing done). */
  staleHolds = 0;
  /** Releases read after the client connected here again since the hold (the session kept). */
  keptReturned = 0;
  /**
   * Sessions held for a move that no connection of their client resumed since (the release
   * hands only those over). Weak: a session that ends or leaves takes its mark with it.
   */
  private readonly heldUnresumed = new WeakSet<Session>();

  constructor(protected readonly parts: SessionMoveParts) {
    this.barriers = new RouteBarriers(parts);
  }

  protected get ownerValue(): string {
    return `${this.parts.self.nodeId}/${this.parts.self.instance}`;
  }

  /**
   * Step 1 on the node holding the session: close the connection [MQTT-3.1.4-3], keep the
   * session (offline, routed) and commit it; answer whether a session is held. Only while the
   * asking node still waits for the answer (move-token.ts), and only on the connection found
   * when the request was read: a stale hold does nothing.
   */
  async hold(request: HoldRequest): Promise<void> {
    await this.recovery; // a dead node's sessions get its unread inbox first
    const { core, logger, redis, keys } = this.parts;
    const { clientId, from, req, owner } = request;
    // The connection the request finds; one that comes while the word is read is newer than it.
    const found = core.sessions.get(clientId)?.output;
    let awaited = false;
    try {
      awaited = await holdAwaited(redis, keys, clientId, owner);
    } catch (err) {
      // Unknown whether the asking node still waits: nothing is done, it gives up (0x88).
      logger.warn({ err: String(err), clientId }, 'cluster: reading a hold request failed');
    }
    const output = core.sessions.get(clientId)?.output;
    if (!awaited || (output !== undefined && output !== found)) {
      // A stale hold (the asking node gave up, its client refused: it may have connected here
      // again since; or the asking node died) closes nothing and answers nothing: nobody
      // waits for it.
      this.staleHolds++;
      logger.info(
        { clientId, node: from },
        'cluster: session move: a hold read after the asking node gave up or died; nothing done',
      );
      return;
    }
    if (output !== undefined) {
      logger.info({ clientId, node: from }, 'cluster: session taken over by another node');
      output.takeOver(); // v5: DISCONNECT 0x8E Session taken over [MQTT-3.1.4-3]
    }
    const session = core.sessions.get(clientId);
    const kept = session !== undefined;
    if (kept) {
      this.heldUnresumed.add(session);
      await this.commit(clientId);
    } else await this.letGo(clientId, from, undefined); // it ended with its connection
    await this.answer(from, { t: 'held', req, session: kept }, clientId);
  }

  /** A client connected here: a session held for a move is resumed (see {@link release}). */
  connected(clientId: string): void {
    const session = this.parts.core.sessions.get(clientId);
    if (session !== undefined) this.heldUnresumed.delete(session);
  }

  /**
   * Step 3 on the node holding the session: the route barrier, then the owner key to the
   * asking node, then let go of the session (on a clean start it ends: its will goes now).
   */
  async release(request: ReleaseRequest): Promise<void> {
    await this.recovery;
    const { clientId, from, req } = request;
    if (this.parts.core.sessions.has(clientId)) {
      await this.barriers.run(`${from}:${req}`, clientId, from);
      const handed = await this.handOwnerTo(request);
      if (handed !== 'handed') {
        // The asking node gave up or died, or the client came back here: the session stays
        // here, routed (offline, its messages queued for it; or online). The answer says this
        // node is done with the request, and whether the asking node should drop its stand-in.
        const answer = handed === 'returned' ? { kept: true as const } : {};
        await this.answer(from, { t: 'released', req, ...answer }, clientId);
        return;
      }
    }
    await this.letGo(clientId, from, req);
  }

  /**
   * What the barrier let in is committed, then the owner key goes from this node to the
   * asking one in one compare-and-set (never free in between: a third node's claim asks the
   * new owner, which lands the session first), only while the asking node still waits for it
   * (move-token.ts). A clean start ends the session: its delayed will is sent now, as on one
   * node's takeover [MQTT-3.1.3-9]. `stays` when the asking node gave up or died, `returned`
   * when the client connected here again since the hold: nothing changed, the session stays
   * here (the caller keeps it).
   */
  private async handOwnerTo(request: ReleaseRequest): Promise<'handed' | 'stays' | 'returned'> {
    const { core, redis, keys, logger } = this.parts;
    const { clientId, from, owner, clean } = request;
    await this.commit(clientId);
    const session = core.sessions.get(clientId);
    if (session !== undefined && !this.heldUnresumed.has(session)) {
      // The client's newest connection is here [MQTT-3.1.4-3]: handed over now, the session
      // would reach the asking node without what its client completed here meanwhile, and the
      // stand-in's copies of those messages would go to it again as new ones (QoS 2 duplicates).
      this.keptReturned++;
      logger.info(
        { clientId, node: from },
        'cluster: session move: the client connected here again since the hold; the session stays here',
      );
      return 'returned';
    }
    try {
      const handed = await handOwnerOver(redis, keys, clientId, [this.ownerValue, owner]);
      if (handed === 'notWaited') {
        logger.info(
          { clientId, node: from },
          'cluster: session move: the asking node no longer waits (it gave up); the session stays here',
        );
        return 'stays';
      }
      if (handed === 'gone') {
        logger.warn(
          { clientId, node: from },
          'cluster: session move: the asking node died (its lease is gone); the session stays here',
        );
        return 'stays';
      }
      if (handed === 'notOurs') {
        logger.info({ clientId, node: from }, 'cluster: session move: owner key not ours');
      }
    } catch (err) {
      logger.warn({ err: String(err), clientId }, 'cluster: handing an owner key over failed');
    }
    if (clean) core.wills.fire(clientId);
    return 'handed';
  }

  /**
   * A drain hand-over's last step on the draining node (its clients are gone, their sessions
   * held and routed here): the route barrier, then every session of `clientIds` leaves memory
   * and the router (kept in the store; the peer takes their owner keys), commit, answer. The
   * waiting wills leave memory first, in the same step, neither sent nor cancelled: a drain is
   * neither the session's resumption nor its end [MQTT-3.1.3-9] [MQTT-3.1.2-8]. Those of the
   * sessions stay in the store with their due time and those held for dead nodes' clients in
   * `orphan-wills:<id>`, for the peer to take (drain-wills.ts); the eviction then cancels none.
   */
  async releaseAll(clientIds: readonly string[], from: number, req: string): Promise<void> {
    const { core, logger } = this.parts;
    await this.barriers.run(`${from}:${req}`, `${clientIds.length} sessions handed over`, from);
    core.wills.clear();
    let evicted = 0;
    for (const clientId of clientIds) if (await this.handOver(clientId)) evicted++;
    logger.info({ node: from, sessions: evicted }, 'cluster: sessions handed over');
    await this.commit(undefined);
    await this.answer(from, { t: 'released', req }, undefined);
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
    if (await this.handOver(clientId)) {
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

  /**
   * The session leaves memory and the router (registry.handOver): what its queue held only in
   * memory (a store batch that failed, as in a Redis failover) is written to the store first.
   */
  private async handOver(clientId: string): Promise<boolean> {
    try {
      return await this.parts.core.registry.handOver(clientId);
    } catch (err) {
      this.parts.logger.warn(
        { err: String(err), clientId },
        'cluster: writing a moved session’s held queue entries failed (they are lost)',
      );
      return this.parts.core.registry.evict(clientId);
    }
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
