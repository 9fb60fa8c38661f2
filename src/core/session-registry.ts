/**
 * The session registry owns the life of sessions: it opens or claims a client id's session
 * for a new connection (taking it over from whoever holds it [MQTT-3.1.4-3], discarding it on
 * clean start [MQTT-3.1.2-4] or resuming it [MQTT-3.1.2-5]), lets it go when its connection
 * ends (its expiry starts, or it ends with the connection), ends it, adopts sessions restored
 * from the store, and decides the fate of wills: cancelled when the session is resumed in
 * time, published when the delay passes or the session ends [MQTT-3.1.3-9].
 *
 * A claim is a step that may wait: `claim` returns the session at once when nothing has to
 * be waited for (always, on a single node with its sessions in memory: a local connection
 * lets go synchronously), or a promise when a holder elsewhere (another node) must let go
 * first, or a session must be loaded first (SessionLoader); the caller then claims again. Claiming again, rather than resuming a half-done claim, keeps each claim one
 * synchronous step that sees the registry as it is: a connection that claimed meanwhile is
 * simply taken over in turn, and the last CONNECT wins, as on one node.
 */
import type { Clock, Logger, Random, StoredWill } from '../ports/index.js';
import type { Will } from '../protocol/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { BudgetAdmission } from './budget-admission.js';
import type { ClientInfo } from './client-info.js';
import { ExpiryIndex } from './expiry-index.js';
import type { RefusalLog } from './limits.js';
import type { CoreMetrics } from './metrics.js';
import type { CoreOptions } from './options.js';
import type { Persistence } from './persistence.js';
import type { Router } from './router.js';
import type { SessionEnvironment } from './session.js';
import { Session } from './session.js';
import type { SessionHolder } from './session-holder.js';
import { claimSession } from './session-owner.js';
import { SessionResync } from './session-resync.js';
import { LOCAL_WRITES, type SessionWriteGuard } from './session-write-guard.js';
import type { SubscriptionService } from './subscription-service.js';
import type { WillVerdict } from './will-verdict.js';
import type { WillScheduler } from './wills.js';

/** Who asks for a session: a connection that has authenticated its client. */
export interface SessionClaimant extends SessionHolder {
  readonly client: ClientInfo;
}

/** A claimed session: resumed (`present`, [MQTT-3.2.2-3]) or new. */
export interface SessionClaim {
  readonly session: Session;
  readonly present: boolean;
}

/**
 * Where a session that is not in memory may come from: a store read per client id, or a
 * store shared with other nodes. The registry asks before every claim of a client id it holds
 * no session for.
 */
export interface SessionLoader {
  /**
   * Starts loading `clientId`'s session, if the store has one, into the registry
   * ({@link SessionRegistry.adopt}); the claim waits for the promise, then claims again.
   * Returns undefined when there is nothing to load or wait for (so the claim goes on): at
   * the latest for the claim made after the promise settled. `clean` is the claim's Clean
   * Start: a node holding the session elsewhere ends it rather than hands it on (its delayed
   * will is sent [MQTT-3.1.3-9]).
   */
  load(clientId: string, clean?: boolean): Promise<void> | undefined;
}

/** What the registry is built from. */
export interface SessionRegistryParts {
  readonly options: CoreOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: Random;
  readonly refusals: RefusalLog;
  readonly budget: BudgetAdmission;
  readonly persistence: Persistence | undefined;
  readonly router: Router;
  readonly subscriptions: SubscriptionService;
  readonly wills: WillScheduler;
  readonly environment: SessionEnvironment;
  /** Where expired sessions are counted (`sessionsExpired`). */
  readonly metrics: Pick<CoreMetrics, 'sessionsExpired'>;
}

/** Never expires (Session Expiry Interval 0xFFFFFFFF). */
const NEVER = 0xffffffff;

/** Sessions by client id, and the rules of their life. */
export class SessionRegistry {
  private readonly byClientId = new Map<string, Session>();
  /** Client ids held by a holder that is not a local connection (a remote node). */
  private readonly elsewhere = new Map<string, SessionHolder>();
  /** Offline sessions' expiry deadlines, behind one timer (no timer per session). */
  private readonly expiry: ExpiryIndex<Session>;
  private loader: SessionLoader | undefined;
  private clientIdCounter = 0;
  /** Makes assigned client ids unique across processes and restarts. */
  private readonly instanceTag: string;
  private closing = false;
  /** Writes sessions' stored state again after their store batches failed. */
  private readonly resync: SessionResync | undefined;
  /** Whether this node may still write a client's stored session (a cluster's owner keys). */
  private writeGuard: SessionWriteGuard = LOCAL_WRITES;

  constructor(private readonly parts: SessionRegistryParts) {
    this.expiry = new ExpiryIndex(
      parts.clock,
      (session) => {
        if (session.output) return;
        this.parts.metrics.sessionsExpired++;
        this.end(session);
      },
      0,
    );
    this.instanceTag = Buffer.from(parts.random.bytes(3)).toString('hex');
    if (parts.persistence !== undefined) {
      this.resync = new SessionResync(parts.persistence, parts.clock, parts.logger, {
        sessionOf: (id) => this.byClientId.get(id),
        heldElsewhere: (id) => this.elsewhere.has(id),
        willOf: (id) => parts.wills.stored(id) ?? this.byClientId.get(id)?.connectionWill,
        expiresAt: (session) =>
          session.output === undefined ? this.expiry.deadline(session) : undefined,
        guard: () => this.writeGuard,
      });
    }
  }

  /** Sessions by client id (read-only: the registry alone adds and removes them). */
  get sessions(): ReadonlyMap<string, Session> {
    return this.byClientId;
  }

  /** What new sessions are made with (restore.ts makes sessions too). */
  get environment(): SessionEnvironment {
    return this.parts.environment;
  }

  /** A unique client identifier for a client that sent an empty one [MQTT-3.1.3-6]. */
  assignClientId(): string {
    this.clientIdCounter++;
    const prefix = this.parts.options.assignedClientIdPrefix;
    return `${prefix}${this.instanceTag}-${this.clientIdCounter.toString(36)}`;
  }

  /**
   * Claims `claimant.client`'s session: takes it over from its holder [MQTT-3.1.4-3],
   * discards it on clean start [MQTT-3.1.2-4], or resumes it [MQTT-3.1.2-5]; a client id
   * without one gets a new session (if the memory budget admits it, else MqttError 0x97).
   * Before anything is taken over or discarded, another user's session stays theirs
   * (session-owner.ts, MqttError 0x85). Returns a promise instead when a holder elsewhere
   * must let go first, or the loader reads the session first: claim again once it settles.
   */
  claim(claimant: SessionClaimant, clean: boolean, expiry: number): SessionClaim | Promise<void> {
    const client = claimant.client;
    const clientId = client.clientId;
    let session = this.byClientId.get(clientId);
    if (session === undefined && this.resync?.deleting(clientId) === true) {
      // Ended here and its deletion's batch failed: deleted again before anything reads the
      // store, which would bring the old session back (session-resync.ts).
      const persistence = this.parts.persistence!;
      return this.resync.now(clientId).then(() => persistence.commit());
    }
    if (session === undefined && this.loader !== undefined) {
      const loading = this.loader.load(clientId, clean);
      if (loading !== undefined) return loading;
    }
    const { options, refusals } = this.parts;
    const owner = claimSession(session, client, options.bindClientIdToUser, refusals);
    const remote = this.elsewhere.get(clientId);
    if (remote !== undefined) {
      const released = remote.takeOver();
      if (released !== undefined) return released.then(() => this.leftElsewhere(clientId, remote));
      this.leftElsewhere(clientId, remote);
    }
    const previous: SessionHolder | undefined = session?.output;
    if (previous !== undefined && previous !== claimant) {
      this.parts.logger.info({ clientId }, 'session taken over by a new connection');
      const released = previous.takeOver(); // [MQTT-3.1.4-3]
      if (released !== undefined) return released;
      session = this.byClientId.get(clientId);
    }
    if (session && clean) {
      this.end(session);
      session = undefined;
    }
    const present = session !== undefined; // [MQTT-3.2.2-3]
    if (session) {
      this.expiry.delete(session);
      this.parts.wills.cancel(clientId); // [MQTT-3.1.3-9] resumed before the will delay passed.
    } else {
      session = this.open(clientId, expiry);
    }
    session.expiryInterval = expiry;
    session.owner = owner;
    const persistence = this.parts.persistence;
    if (persistence && (expiry > 0 || session.persistence)) {
      // A session that may outlive its connection is written, subscriptions and queue included.
      session.persistTo(persistence);
      persistence.putSession(clientId, expiry, undefined);
      persistence.setSessionOwner(clientId, owner);
    }
    return { session, present };
  }

  /** Sessions not in memory are asked of `loader` before a claim (per-client loading). */
  loadWith(loader: SessionLoader): void {
    this.loader = loader;
  }

  /**
   * The resync of a session whose batch failed writes it only with `guard`'s leave (a
   * cluster: only while this node owns the client; session-write-guard.ts).
   */
  guardWritesWith(guard: SessionWriteGuard): void {
    this.writeGuard = guard;
  }

  /**
   * `clientId` is held by `holder` elsewhere (a remote node): the next claim of it here takes
   * it over through `holder` first. Ends when the holder let go ({@link leftElsewhere}).
   */
  heldElsewhere(clientId: string, holder: SessionHolder): void {
    this.elsewhere.set(clientId, holder);
  }

  /**
   * Whether `clientId`'s stored session has no deletion left to make here (this node holds no
   * session for it): true when none is pending; else a promise of it, once the deletion this
   * turn wrote is known committed (false: its batch failed, and the resync makes it again).
   * A cluster node keeps the client's owner key until then: the resync's deletion is made
   * only while this node owns the client (SessionWriteGuard.written tells it when it is).
   */
  deletionSettled(clientId: string): boolean | Promise<boolean> {
    const resync = this.resync;
    if (resync === undefined) return true;
    const told = this.parts.persistence?.deletionTold(clientId);
    if (told === undefined) return !resync.deleting(clientId);
    return told.then(() => !resync.deleting(clientId));
  }

  /** `holder` no longer holds `clientId` elsewhere. */
  leftElsewhere(clientId: string, holder: SessionHolder): void {
    if (this.elsewhere.get(clientId) === holder) this.elsewhere.delete(clientId);
  }

  /**
   * The claimant got CONNACK 0x00 and reads its session. A will is stored while its client
   * is connected: after a crash the connection counts as lost, so the will is sent.
   */
  connected(client: ClientInfo, will: Will | undefined, verdict?: WillVerdict): void {
    if (!this.parts.persistence || !will) return;
    const stored: StoredWill = {
      will,
      // The restored will is authorized as this user: only a verified username counts.
      username: client.usernameVerified ? client.username : undefined,
      listener: client.listener,
      ...(verdict === undefined ? {} : { verdict }),
    };
    this.parts.persistence.putWill(client.clientId, stored);
    // Kept for session-resync.ts, should this write's batch fail.
    const session = this.byClientId.get(client.clientId);
    if (session !== undefined) session.connectionWill = stored;
  }

  /**
   * The connection holding `session` ended (`holder`, with its client and its will unless the
   * client discarded it). Messages in flight to it through shared subscriptions go to another
   * member; the will waits for its delay (with this node's `verdict` on it, if it took
   * one: will-verdict.ts); the session ends, or waits for its expiry.
   */
  released(
    session: Session,
    holder: SessionHolder,
    client: ClientInfo,
    will: Will | undefined,
    verdict?: WillVerdict,
  ): void {
    if (session.output !== holder) return;
    session.detach();
    session.connectionWill = undefined;
    for (const delivery of session.takeSharedDeliveries()) {
      // Messages in flight to a shared member that left go to another member.
      if (!this.parts.router.redispatchShared(delivery, session)) session.enqueue(delivery);
    }
    if (will && !this.closing) this.parts.wills.schedule(client, will, verdict);
    if (session.expiryInterval === 0) {
      this.end(session);
      return;
    }
    this.scheduleExpiry(session);
    if (session.persistence) {
      const expiresAt =
        session.expiryInterval >= NEVER
          ? undefined
          : this.parts.clock.now() + session.expiryInterval * 1000;
      session.persistence.putSession(session.clientId, session.expiryInterval, expiresAt);
    }
  }

  /** Registers a session restored from the store, offline until its client comes back. */
  adopt(session: Session, expiresAt: number): void {
    this.byClientId.set(session.clientId, session);
    this.parts.budget.chargeSession(session.clientId);
    this.parts.subscriptions.restore(session);
    if (session.expiryInterval < NEVER) this.expiry.set(session, expiresAt);
  }

  /**
   * Lets go of `clientId`'s offline session because another node holds it now (a takeover
   * across a cluster): the session leaves memory and the router but stays in the store, for
   * the other node to read, and its pending will is dropped (the session goes on there). Not
   * an end: nothing is deleted from the store and no will is sent. False when there is no
   * session or a connection still holds it (close the connection first).
   */
  evict(clientId: string): boolean {
    const session = this.byClientId.get(clientId);
    if (session === undefined || session.output !== undefined) return false;
    this.expiry.delete(session);
    this.parts.subscriptions.removeAll(session);
    // Whatever the old connection still does (an ack it awaited) no longer writes the store.
    session.forget();
    session.end();
    this.byClientId.delete(clientId);
    this.parts.budget.releaseSession(clientId);
    this.parts.wills.cancel(clientId);
    return true;
  }

  /**
   * {@link evict}, after writing to the store what only memory held of the session (its
   * state whose store batch failed: session-resync.ts; entries its queue holds: stored-queue.ts),
   * for the other node to read there. The caller commits. False as for evict (a client may
   * have taken it meanwhile).
   */
  async handOver(clientId: string): Promise<boolean> {
    const session = this.byClientId.get(clientId);
    if (session === undefined && this.resync?.deleting(clientId) === true) {
      // Ended here, its deletion to be made again: made now, while this node still owns the
      // client (the caller commits before it lets go), rather than left for the other node
      // to read the old session.
      await this.resync.now(clientId);
      return false;
    }
    if (session === undefined || session.output !== undefined) return false;
    await this.resync?.now(clientId);
    await session.storeHeld();
    return this.evict(clientId);
  }

  /**
   * Ends a session: its subscriptions go, its queue's charges go back, its stored state is
   * deleted, and a delayed will is sent now [MQTT-3.1.3-9].
   */
  end(session: Session): void {
    this.expiry.delete(session);
    this.parts.subscriptions.removeAll(session);
    session.end();
    if (this.byClientId.get(session.clientId) === session) {
      this.byClientId.delete(session.clientId);
      this.parts.budget.releaseSession(session.clientId);
    }
    if (session.persistence) {
      session.persistence.deleteSession(session.clientId);
      session.forget();
    }
    this.parts.wills.fire(session.clientId);
  }

  /** The broker is closing: connections that end now leave no will behind. */
  beginShutdown(): void {
    this.closing = true;
  }

  /** Stops the expiry and resync timers and drops waiting wills (stored ones stay stored). */
  stop(): void {
    this.parts.wills.clear();
    this.expiry.stop();
    this.resync?.stop();
  }

  /** A new session for `clientId`, if the memory budget admits it. */
  private open(clientId: string, expiry: number): Session {
    if (!this.parts.budget.admitSession(clientId, expiry > 0)) {
      // CONNACK 0x97 Quota exceeded (v3: 0x03 Server unavailable).
      throw new MqttError(ReasonCode.QuotaExceeded, 'memory budget reached: no new session');
    }
    this.parts.wills.fire(clientId); // a previous session ended: its delayed will goes now.
    const session = new Session(clientId, this.parts.environment);
    this.byClientId.set(clientId, session);
    return session;
  }

  private scheduleExpiry(session: Session): void {
    if (session.expiryInterval >= NEVER) return; // never expires
    this.expiry.set(session, this.parts.clock.now() + session.expiryInterval * 1000);
  }
}
