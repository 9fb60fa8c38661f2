/**
 * When the store's writes are durable, and who hears of those that were not: the commit side
 * of Persistence (persistence.ts writes, this settles). It shares one store commit among the
 * acknowledgements of a turn, makes them wait for the participants' writes too (a cluster's
 * forwards), watches a turn's commit for failure, and names the clients whose session writes
 * a failed commit did not keep (session-resync.ts writes them again).
 */
import type { StorePort } from '../ports/index.js';

/**
 * Writes outside the store that an acknowledgement waits for as it waits for the store's
 * (a cluster's forwards to other nodes and its route table).
 */
export interface CommitParticipant {
  /** Resolves once everything written so far is written (rejects when a write failed). */
  commit(): Promise<void>;
}

/** A turn whose store writes {@link CommitTurns.onTurnFailure} watches. */
export interface TurnMarker {
  /** The turn is over: writes made now belong to the next one. */
  readonly ended: boolean;
  /** Settles once the turn's commit settled and, if it failed, its failure callbacks ran. */
  readonly told: Promise<void>;
}

/**
 * Told the clients whose session writes a failed commit did not keep, and those of them whose
 * session that commit deleted ({@link CommitTurns.onClientWritesFailed}).
 */
export type ClientWritesFailed = (
  clientIds: ReadonlySet<string>,
  deleted: ReadonlySet<string>,
) => void;

/** The commits of one store, turn by turn (Persistence delegates to it). */
export class CommitTurns {
  /** The turn's {@link commitAfterTurn}, while its turn lasts. */
  private turnCommit: Promise<void> | undefined;
  private readonly participants: CommitParticipant[] = [];
  /** The last {@link commit} with participants: what it waited for, and its promise. */
  private lastCommit: { parts: Promise<void>[]; promise: Promise<void> } | undefined;
  /**
   * This turn's {@link onTurnFailure} callbacks while its turn lasts, and `told`: settles once
   * the turn's commit settled and, if it failed, they were called.
   */
  private turnWatch: { ended: boolean; failed: (() => void)[]; told: Promise<void> } | undefined;
  /** Told which clients' writes a failed commit did not keep ({@link onClientWritesFailed}). */
  private clientsFailed: ClientWritesFailed | undefined;
  /**
   * The clients whose session state this turn wrote, and those of them whose session it
   * deleted, while its turn lasts.
   */
  private clientTurn:
    | { turn: TurnMarker; clientIds: Set<string>; deleted: Set<string> }
    | undefined;

  constructor(private readonly store: Pick<StorePort, 'commit'>) {}

  /**
   * Settles once what this event-loop turn wrote is durable (never rejects: a failed commit
   * is reported by the acknowledgement that waits for it). [MQTT-4.3.3-9] A QoS 2 copy goes
   * onward after its inbound packet id is stored, but the id is written after routing (by the
   * PUBREC's step, perhaps a few microtasks later when a hook is async): a {@link commit}
   * taken at routing time can find nothing pending yet (a store with no open batch settles at
   * once) and let the copy out before the id's batch. Taken once the turn's microtasks are
   * done (one `setImmediate`, shared by every copy of the turn), it covers the id.
   */
  commitAfterTurn(): Promise<void> {
    this.turnCommit ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.turnCommit = undefined;
      return this.commit().catch(() => {});
    });
    return this.turnCommit;
  }

  /**
   * Calls `failed` if the store does not commit what this turn wrote (a batch Redis did not
   * take, a full disk): one store commit looked at per turn, taken once the turn's writes are
   * all made (as {@link commitAfterTurn}), however many callers. Returns the turn, `ended` once
   * writes belong to the next one. The store's commit only: a participant's failure (a
   * forward) says nothing of the store's writes.
   */
  onTurnFailure(failed: () => void): TurnMarker {
    let turn = this.turnWatch;
    if (turn === undefined) {
      let told = () => {};
      const watch = {
        ended: false,
        failed: [] as (() => void)[],
        told: new Promise<void>((resolve) => {
          told = resolve;
        }),
      };
      this.turnWatch = watch;
      turn = watch;
      setImmediate(() => {
        watch.ended = true;
        if (this.turnWatch === watch) this.turnWatch = undefined;
        this.store
          .commit()
          .catch(() => {
            for (const fn of watch.failed) fn();
          })
          .finally(told);
      });
    }
    turn.failed.push(failed);
    return turn;
  }

  /**
   * When this turn deleted `clientId`'s session: a promise that settles once the turn's
   * commit settled and, if it failed, the {@link onClientWritesFailed} listener was told.
   * Undefined when this turn deleted no session of the client.
   */
  deletionTold(clientId: string): Promise<void> | undefined {
    const current = this.clientTurn;
    if (current === undefined || current.turn.ended || !current.deleted.has(clientId)) {
      return undefined;
    }
    return this.turnWatch?.told;
  }

  /**
   * Calls `listener` with the client ids whose session state (record, subscriptions, inbound
   * QoS 2 ids, queue, inflight entries, will, the session's deletion) a turn wrote when the
   * store did not commit that turn's writes, and those of them whose session the turn
   * deleted: memory went on without the store, which nothing writes again otherwise
   * (session-resync.ts writes them again).
   */
  onClientWritesFailed(listener: ClientWritesFailed): void {
    this.clientsFailed = listener;
  }

  /**
   * Commits every mutation so far (group commit in the store, and the participants'). When
   * the store and every participant answer with the very promises they gave the call before
   * (the batch being filled, the one in flight, or nothing to wait for), that call's promise
   * is the answer again: the acknowledgements of one event-loop turn share one, where each
   * made a `Promise.all` of its own.
   */
  commit(): Promise<void> {
    if (this.participants.length === 0) return this.store.commit();
    const parts = [this.store.commit()];
    for (const participant of this.participants) parts.push(participant.commit());
    const last = this.lastCommit;
    if (last !== undefined && samePromises(last.parts, parts)) return last.promise;
    const promise = Promise.all(parts).then(() => undefined);
    this.lastCommit = { parts, promise };
    return promise;
  }

  /**
   * Makes {@link commit} wait for `participant` too; it calls Persistence.noteWrite for each write
   * an acknowledgement must wait for.
   */
  join(participant: CommitParticipant): void {
    this.participants.push(participant);
  }

  /**
   * Notes that this turn wrote `clientId`'s session state: if the store does not commit the
   * turn, the client is named to the {@link onClientWritesFailed} listener. One watch per
   * turn ({@link onTurnFailure}), however many writes. `deleted`: the write deletes the
   * client's whole session.
   */
  noteClient(clientId: string, deleted = false): void {
    const listener = this.clientsFailed;
    if (listener === undefined) return;
    let current = this.clientTurn;
    if (current === undefined || current.turn.ended) {
      const clientIds = new Set<string>();
      const deletedIds = new Set<string>();
      current = {
        turn: this.onTurnFailure(() => listener(clientIds, deletedIds)),
        clientIds,
        deleted: deletedIds,
      };
      this.clientTurn = current;
    }
    current.clientIds.add(clientId);
    if (deleted) current.deleted.add(clientId);
  }
}

/** True when both lists hold the same promises, in the same order. */
function samePromises(a: readonly Promise<void>[], b: readonly Promise<void>[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
