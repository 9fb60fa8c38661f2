/**
 * Brings a session's stored state back in line with memory after store batches failed.
 *
 * A write of a session (an inflight entry moving to "PUBREL sent" or ending, an inbound
 * QoS 2 id released, a queue entry taken, a subscription) changes memory at once and the
 * store in the next batch. When that batch fails (a Redis master failover, a full disk),
 * memory goes on and the store keeps what it held before, and nothing writes it again: the
 * session's next owner (a node adopting it after this one died, a restart) reads the old
 * state. A QoS 2 exchange past its PUBREL meanwhile was then resent as PUBLISH with DUP
 * [MQTT-4.3.3-6], under a packet id its client had freed once the exchange completed, and the
 * client took it as a new message (the failover soak found it: docs/cluster.md); an inbound
 * id released meanwhile made a later message under that id look like a resend (it is new
 * [MQTT-4.3.3-12]), and a queue entry taken meanwhile was sent
 * again under a new packet id.
 *
 * So Persistence names the clients whose writes a failed commit did not keep, and this marks
 * them and, after a pause (the store is likely still down), reads each one's stored state
 * and writes what differs from memory: inflight entries (state and message), inflight
 * entries memory has ended, inbound QoS 2 ids, subscriptions, the queue's taken entries and
 * its entries held in memory (StoredQueue.storeHeld). Every write is idempotent, so one that
 * had landed after all (a commit reported failed: a `WAIT` answered short) is harmless, and
 * the writes go through Persistence: if their batch fails too, the client is marked again.
 * Only differences are written, and an inflight entry rewritten with its own message counts
 * no second reference (message-store.ts: a put replaces the entry and its reference).
 *
 * Besides the session's content, memory's word on the session's existence, its will and its
 * record's expiry is written again. A session deleted in a failed batch (ended: a clean
 * session's connection closed, its expiry passed; discarded by a clean start
 * [MQTT-3.1.2-4]) would come back with its subscriptions and queue after a move or restart,
 * and a clean start's new session would number its queue from 1 among the old stored
 * entries: Persistence names such clients apart, and the resync deletes the stored session
 * again (no session here), or, for the session memory holds now, deletes it and writes the
 * whole of memory's session (StoredQueue.rewrite). The will is written as memory holds it:
 * a delayed will waiting here with its due time (lost with this node otherwise), the
 * connection's will while it is connected, or none (a will cancelled by a resumption
 * [MQTT-3.1.3-9] or discarded would be sent by the next node otherwise). The record's
 * expiresAt (undefined while connected) is written when it differs.
 *
 * In a cluster the store is shared, and the client may be another node's by the time its
 * state is written again (it connected there, its session moved or was taken over): then
 * nothing is written here, above all not the deletion, which would delete that node's live
 * session. Every write waits for the leave of a guard the cluster supplies (the client's
 * owner key names this node: session-write-guard.ts), and the deletion and the will carry a
 * fence the store checks in the write's atomic step, so that a key taken between the
 * guard's answer and the write keeps the write out.
 */
import type { Clock, Logger, StoredSession, StoredWill, WriteFence } from '../ports/index.js';
import type { Persistence } from './persistence.js';
import type { Session } from './session.js';
import type { SessionWriteGuard } from './session-write-guard.js';

/** Pause before the stored state of sessions whose writes failed is written again. */
export const RESYNC_DELAY_MS = 1000;

/** What memory knows of a client besides its session's content (SessionRegistry answers). */
export interface ResyncMemory {
  /** The session this node holds for a client id, if any. */
  sessionOf(clientId: string): Session | undefined;
  /** True when another node holds the client's session (its stored state is that node's). */
  heldElsewhere(clientId: string): boolean;
  /** The will the store should hold for the client, if any (with its due time if waiting). */
  willOf(clientId: string): StoredWill | undefined;
  /** When an offline session expires (ms since the epoch); undefined while connected or never. */
  expiresAt(session: Session): number | undefined;
  /** Whether this node may still write a client's stored session (session-write-guard.ts). */
  guard(): SessionWriteGuard;
}

/** Clients whose stored state is behind memory, and the timer that writes them again. */
export class SessionResync {
  private readonly dirty = new Set<string>();
  /** Marked clients whose session a failed batch deleted (a subset of `dirty`). */
  private readonly deleted = new Set<string>();
  /** The writes under way, by client id (a hand-over waits for its client's). */
  private readonly writing = new Map<string, Promise<boolean>>();
  private timer: ReturnType<Clock['setTimeout']> | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly persistence: Persistence,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly memory: ResyncMemory,
  ) {
    persistence.onClientWritesFailed((clientIds, deleted) => this.mark(clientIds, deleted));
  }

  /** Clients marked and not yet written again (inspection and tests). */
  get pending(): number {
    return this.dirty.size;
  }

  /**
   * Marks `clientIds`: their stored state is written again after a pause; `deleted`: those
   * of them whose stored session a failed batch deleted.
   */
  mark(clientIds: Iterable<string>, deleted: Iterable<string> = []): void {
    if (this.stopped) return;
    for (const id of clientIds) this.dirty.add(id);
    for (const id of deleted) this.deleted.add(id);
    this.schedule();
  }

  /**
   * Writes `clientId`'s stored state again now if it is marked (before its session leaves
   * this node: the other node reads the store), after a write of it under way. The caller
   * commits. Rejects when the store could not be read (the client stays marked).
   */
  async now(clientId: string): Promise<void> {
    await this.writing.get(clientId)?.catch(() => {});
    if (!this.dirty.has(clientId)) return;
    try {
      await this.write(clientId);
    } catch (err) {
      this.schedule();
      throw err;
    }
  }

  /** True when `clientId`'s stored session is to be deleted again (its deletion failed). */
  deleting(clientId: string): boolean {
    return this.deleted.has(clientId);
  }

  /** Stops the timer (the core closes); nothing is written any more. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.running || this.stopped || this.dirty.size === 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, RESYNC_DELAY_MS);
  }

  /** Writes every marked client's state again, one at a time; stops at a failed read. */
  private async run(): Promise<void> {
    this.running = true;
    let written = 0;
    try {
      for (const clientId of [...this.dirty]) {
        if (this.stopped) return;
        if (!this.dirty.has(clientId)) continue;
        try {
          if (await this.write(clientId)) written++;
        } catch (err) {
          this.logger.warn(
            { err, clientId, pending: this.dirty.size, retryMs: RESYNC_DELAY_MS },
            'store: writing a session again after failed batches could not read it; retrying',
          );
          return;
        }
      }
      if (written > 0) {
        this.logger.info(
          { sessions: written },
          'store: sessions written again after failed batches',
        );
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  /**
   * Unmarks `clientId` and writes its state again; false when there was nothing to write
   * (no persistent session here, and none deleted in a failed batch; handed over: written
   * then) or this node may not write it (another node holds the client now). Marked again
   * when the store could not be read or the guard could not tell.
   */
  private write(clientId: string): Promise<boolean> {
    this.dirty.delete(clientId);
    const deleted = this.deleted.delete(clientId);
    const remark = (err: unknown): never => {
      this.dirty.add(clientId);
      if (deleted) this.deleted.add(clientId);
      throw err;
    };
    const done: Promise<boolean> = this.writeGranted(clientId, deleted)
      .catch(remark)
      .finally(() => {
        if (this.writing.get(clientId) === done) this.writing.delete(clientId);
      });
    this.writing.set(clientId, done);
    return done;
  }

  /**
   * Asks the guard, then writes: the deletion again (no session here), or the session memory
   * holds. The fence of the guard's grant goes with the writes that would lose another
   * node's session if they landed on it (the deletion, the will): the store applies them
   * only while this node still owns the client (session-write-guard.ts).
   */
  private async writeGranted(clientId: string, deleted: boolean): Promise<boolean> {
    const memory = this.memory;
    // Another node holds it now (or nothing of it is to be written): that node's to write.
    const nothing = () =>
      memory.sessionOf(clientId)?.persistence === undefined &&
      (!deleted || memory.heldElsewhere(clientId));
    if (nothing()) return false;
    const grant = await memory.guard().mayWrite(clientId);
    if (grant === undefined) {
      this.logger.info(
        { clientId },
        'store: a session whose batch failed is held by another node now; not written again here',
      );
      return false;
    }
    if (nothing()) return false;
    const session = memory.sessionOf(clientId);
    if (session?.persistence === undefined) {
      // Ended here (or replaced by a session that is not stored): delete it again.
      this.persistence.deleteSession(clientId, grant.fence);
      const will = memory.willOf(clientId);
      if (will !== undefined) this.persistence.putWill(clientId, will, grant.fence);
      // Committed: the guard may let go of what it kept for the deletion (failed: marked
      // again, and the next write tells it).
      this.persistence.commit().then(
        () => {
          if (this.deleted.has(clientId) || memory.sessionOf(clientId) !== undefined) return;
          memory.guard().written?.(clientId);
        },
        () => {},
      );
      return true;
    }
    await resyncSession(session, this.persistence, {
      deleted,
      fence: grant.fence,
      will: () => memory.willOf(clientId),
      expiresAt: memory.expiresAt(session),
    });
    return true;
  }
}

/** Memory's word on a session besides its content ({@link resyncSession}). */
export interface SessionFacts {
  /** A failed batch deleted the stored session (memory's is another, or a new one). */
  deleted: boolean;
  /** Checked by the store with the deletion and the will (session-write-guard.ts). */
  fence?: WriteFence | undefined;
  /** The will the store should hold, if any (asked once the store was read). */
  will: () => StoredWill | undefined;
  /** The record's expiresAt (undefined while connected, or never). */
  expiresAt: number | undefined;
}

/**
 * Reads `session`'s stored state and writes what differs from memory (in the current batch;
 * the caller or the next turn commits). A session the store lacks altogether (its record's
 * batch failed) gets its record and owner written again. `facts.deleted`: the stored session
 * is deleted and memory's written whole (its queue read first: StoredQueue.rewrite).
 */
export async function resyncSession(
  session: Session,
  persistence: Persistence,
  facts: SessionFacts = { deleted: false, will: () => undefined, expiresAt: undefined },
): Promise<void> {
  const clientId = session.clientId;
  let stored: StoredSession | undefined;
  if (facts.deleted) {
    await session.rewriteStored(() => persistence.deleteSession(clientId, facts.fence));
  } else {
    stored = (await persistence.loadSession(clientId))?.session;
  }
  // The session left persistence (ended) while the store was read: nothing to write.
  if (session.persistence !== persistence) return;
  if (
    stored === undefined ||
    stored.expiryInterval !== session.expiryInterval ||
    stored.expiresAt !== facts.expiresAt
  ) {
    persistence.putSession(clientId, session.expiryInterval, facts.expiresAt);
  }
  if (stored === undefined && session.owner !== undefined) {
    persistence.setSessionOwner(clientId, session.owner);
  }
  // The stored record does not say whether a will is stored: written as memory holds it
  // (idempotent; only for clients whose writes failed).
  const will = facts.will();
  if (will !== undefined) persistence.putWill(clientId, will, facts.fence);
  else if (!facts.deleted) persistence.deleteWill(clientId);
  resyncInflight(session, persistence, stored);
  resyncInbound(session, persistence, stored);
  resyncSubscriptions(session, persistence, stored);
  if (!facts.deleted) await session.storeHeld();
}

function resyncInflight(
  session: Session,
  persistence: Persistence,
  stored: StoredSession | undefined,
): void {
  const held = new Map((stored?.inflight ?? []).map((e) => [e.packetId, e]));
  if (session.inflightCount > 0) {
    for (const entry of session.inflight.values()) {
      const before = held.get(entry.packetId);
      held.delete(entry.packetId);
      if (before?.state === entry.state && before.delivery.messageId === entry.delivery.message.id)
        continue;
      persistence.putInflight(session.clientId, entry);
    }
  }
  // Ended in memory (PUBACK, PUBCOMP) while the store kept them.
  for (const packetId of held.keys()) persistence.deleteInflight(session.clientId, packetId);
}

function resyncInbound(
  session: Session,
  persistence: Persistence,
  stored: StoredSession | undefined,
): void {
  const held = new Set(stored?.inboundQos2 ?? []);
  for (const id of session.inboundQos2) {
    if (!held.delete(id)) persistence.addInboundQos2(session.clientId, id);
  }
  // Released by PUBREL in memory while the store kept them [MQTT-4.3.3-12].
  for (const id of held) persistence.deleteInboundQos2(session.clientId, id);
}

function resyncSubscriptions(
  session: Session,
  persistence: Persistence,
  stored: StoredSession | undefined,
): void {
  const held = new Map((stored?.subscriptions ?? []).map((s) => [s.filter, s]));
  if (session.subscriptionCount > 0) {
    for (const sub of session.subscriptions.values()) {
      const before = held.get(sub.filter);
      held.delete(sub.filter);
      if (
        before !== undefined &&
        before.qos === sub.qos &&
        before.noLocal === sub.noLocal &&
        before.retainAsPublished === sub.retainAsPublished &&
        before.retainHandling === sub.retainHandling &&
        before.subscriptionId === sub.subscriptionId
      )
        continue;
      persistence.putSubscription(session.clientId, sub);
    }
  }
  for (const filter of held.keys()) persistence.deleteSubscription(session.clientId, filter);
}
