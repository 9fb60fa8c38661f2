/**
 * Persistence: the core's side of the store ports. It converts deliveries and messages to
 * their stored form, writes each message once, counts mutations (so a handler can tell
 * whether its work must be committed before it acknowledges), and reads sessions and queue
 * pages back.
 */
import type {
  BrokerStore,
  SessionOwner,
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from '../ports/index.js';
import type { Delivery, Message } from './message.js';
import { restoreMessage } from './message.js';

/** One client's stored session with its queue state, and the messages its inflight entries carry. */
export interface LoadedSession {
  session: StoredSession;
  messages: Map<number, StoredMessage>;
}

/**
 * An inflight entry as persistence reads it (a Session's InflightEntry: named here by its
 * fields, so that persistence, which the session uses, does not import the session).
 */
export interface InflightRecord {
  readonly packetId: number;
  readonly state: 'publish' | 'pubrel';
  readonly delivery: Delivery;
}

/** A subscription as persistence reads it (a Subscription, by its fields, as above). */
export type SubscriptionRecord = Readonly<StoredSubscription>;

/**
 * Writes outside the store that an acknowledgement waits for as it waits for the store's
 * (a cluster's forwards to other nodes and its route table).
 */
export interface CommitParticipant {
  /** Resolves once everything written so far is written (rejects when a write failed). */
  commit(): Promise<void>;
}

/** A turn whose store writes {@link Persistence.onTurnFailure} watches. */
export interface TurnMarker {
  /** The turn is over: writes made now belong to the next one. */
  readonly ended: boolean;
}

/**
 * Told the clients whose session writes a failed commit did not keep, and those of them whose
 * session that commit deleted ({@link Persistence.onClientWritesFailed}).
 */
export type ClientWritesFailed = (
  clientIds: ReadonlySet<string>,
  deleted: ReadonlySet<string>,
) => void;

/** The store (the three store ports in one) as the core uses it. */
export class Persistence {
  /** Increases with every mutation; compare before/after a step to know if it wrote. */
  mutations = 0;
  private commitQueued = false;
  /** The turn's {@link commitAfterTurn}, while its turn lasts. */
  private turnCommit: Promise<void> | undefined;
  private readonly participants: CommitParticipant[] = [];
  /** The last {@link commit} with participants: what it waited for, and its promise. */
  private lastCommit: { parts: Promise<void>[]; promise: Promise<void> } | undefined;
  /** This turn's {@link onTurnFailure} callbacks, while its turn lasts. */
  private turnWatch: { ended: boolean; failed: (() => void)[] } | undefined;
  /** Told which clients' writes a failed commit did not keep ({@link onClientWritesFailed}). */
  private clientsFailed: ClientWritesFailed | undefined;
  /**
   * The clients whose session state this turn wrote, and those of them whose session it
   * deleted, while its turn lasts.
   */
  private clientTurn:
    | { turn: TurnMarker; clientIds: Set<string>; deleted: Set<string> }
    | undefined;

  constructor(
    readonly store: BrokerStore,
    private readonly onBackgroundError: (err: unknown) => void,
    /**
     * A stored queue found fewer entries in the store than it counted (writes the store had
     * committed and lost since: a Redis failover without a WAIT for replicas); reported here.
     */
    readonly lostQueued: (clientId: string, count: number) => void = () => {},
  ) {}

  /** True while the store cannot write (disk full): new QoS 1/2 work is refused. */
  get full(): boolean {
    return this.store.full;
  }

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
      const watch = { ended: false, failed: [] as (() => void)[] };
      this.turnWatch = watch;
      turn = watch;
      setImmediate(() => {
        watch.ended = true;
        if (this.turnWatch === watch) this.turnWatch = undefined;
        this.store.commit().catch(() => {
          for (const fn of watch.failed) fn();
        });
      });
    }
    turn.failed.push(failed);
    return turn;
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
   * Makes {@link commit} wait for `participant` too; it calls {@link noteWrite} for each write
   * an acknowledgement must wait for.
   */
  join(participant: CommitParticipant): void {
    this.participants.push(participant);
  }

  /** A participant wrote: the step that caused it waits for {@link commit} before its ack. */
  noteWrite(): void {
    this.mutations++;
  }

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    this.touch();
    this.noteClient(clientId);
    this.store.putSession(clientId, expiryInterval, expiresAt);
  }

  setSessionOwner(clientId: string, owner: SessionOwner): void {
    this.touch();
    this.noteClient(clientId);
    this.store.setSessionOwner(clientId, owner);
  }

  /** Removes the session with everything of it: record, subscriptions, will, queue, inflight. */
  deleteSession(clientId: string): void {
    this.touch();
    this.noteClient(clientId, true);
    this.store.deleteSession(clientId);
    this.store.deleteQueue(clientId);
  }

  /**
   * One client's stored session with its queue state, or undefined when it has none (read
   * when a client connects whose session is not in memory: restore.ts `loadStoredSession`).
   */
  async loadSession(clientId: string): Promise<LoadedSession | undefined> {
    const record = await this.store.loadSession(clientId);
    if (record === undefined) return undefined;
    const { state, messages } = await this.store.loadQueue(clientId);
    return { session: { ...record, ...state }, messages };
  }

  putSubscription(clientId: string, subscription: SubscriptionRecord): void {
    this.touch();
    this.noteClient(clientId);
    const stored: StoredSubscription = {
      filter: subscription.filter,
      qos: subscription.qos,
      noLocal: subscription.noLocal,
      retainAsPublished: subscription.retainAsPublished,
      retainHandling: subscription.retainHandling,
      subscriptionId: subscription.subscriptionId,
    };
    this.store.putSubscription(clientId, stored);
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.touch();
    this.noteClient(clientId);
    this.store.deleteSubscription(clientId, filter);
  }

  /**
   * Queues a delivery at `seq` (above every seq of the client's queue: StoredQueue numbers
   * them; or one the store lacks, written again: StoredQueue.storeHeld).
   */
  enqueue(clientId: string, seq: number, delivery: Delivery): void {
    this.touch();
    this.noteClient(clientId);
    this.writeMessage(delivery.message);
    this.store.enqueue(clientId, seq, toStoredDelivery(delivery));
  }

  dequeue(clientId: string, seq: number): void {
    this.touch();
    this.noteClient(clientId);
    this.store.dequeue(clientId, seq);
  }

  /** Removes the queued entry at `seq` only (one taken out of order: StoredQueue.takeShared). */
  removeQueued(clientId: string, seq: number): void {
    this.touch();
    this.noteClient(clientId);
    this.store.removeQueued(clientId, seq);
  }

  /**
   * A page of a stored queue, as deliveries; `end` when the store holds no entry after it (it
   * returned fewer than `limit`, counting those whose message is missing and left out).
   */
  async readQueue(
    clientId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ entries: { seq: number; delivery: Delivery }[]; end: boolean }> {
    const { entries, messages } = await this.store.readQueue(clientId, afterSeq, limit);
    const restored = new Map<number, Message>();
    const out: { seq: number; delivery: Delivery }[] = [];
    for (const entry of entries) {
      const stored = messages.get(entry.delivery.messageId);
      if (!stored) continue; // referenced message missing: nothing to deliver
      let message = restored.get(stored.id);
      if (!message) {
        message = restoreMessage(stored);
        restored.set(stored.id, message);
      }
      out.push({ seq: entry.seq, delivery: fromStoredDelivery(entry.delivery, message) });
    }
    return { entries: out, end: entries.length < limit };
  }

  putInflight(clientId: string, entry: InflightRecord): void {
    this.touch();
    this.noteClient(clientId);
    this.writeMessage(entry.delivery.message);
    this.store.putInflight(clientId, {
      packetId: entry.packetId,
      state: entry.state,
      delivery: toStoredDelivery(entry.delivery),
    });
  }

  deleteInflight(clientId: string, packetId: number): void {
    this.touch();
    this.noteClient(clientId);
    this.store.deleteInflight(clientId, packetId);
  }

  addInboundQos2(clientId: string, packetId: number): void {
    this.touch();
    this.noteClient(clientId);
    this.store.addInboundQos2(clientId, packetId);
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    this.touch();
    this.noteClient(clientId);
    this.store.deleteInboundQos2(clientId, packetId);
  }

  putWill(clientId: string, will: StoredWill): void {
    this.touch();
    this.noteClient(clientId);
    this.store.putWill(clientId, will);
  }

  deleteWill(clientId: string): void {
    this.touch();
    this.noteClient(clientId);
    this.store.deleteWill(clientId);
  }

  putRetained(message: Message): void {
    this.touch();
    const stored = toStoredMessage(message);
    const publisher = message.publisher;
    if (publisher !== undefined) {
      // Kept so that a restart re-checks the retained message against the same publisher.
      stored.publisher = { listener: publisher.listener };
      if (publisher.usernameVerified && publisher.username !== undefined) {
        stored.publisher.username = publisher.username;
      }
    }
    this.store.putRetained(stored);
  }

  deleteRetained(topic: string): void {
    this.touch();
    this.store.deleteRetained(topic);
  }

  /**
   * Notes that this turn wrote `clientId`'s session state: if the store does not commit the
   * turn, the client is named to the {@link onClientWritesFailed} listener. One watch per
   * turn (Persistence.onTurnFailure), however many writes. `deleted`: the write deletes the
   * client's whole session.
   */
  private noteClient(clientId: string, deleted = false): void {
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

  /**
   * Counts a mutation and makes sure a commit follows even if no handler waits for one
   * (e.g. a PUBACK from a subscriber deleting its inflight entry).
   */
  private touch(): void {
    this.mutations++;
    if (this.commitQueued) return;
    this.commitQueued = true;
    queueMicrotask(() => {
      this.commitQueued = false;
      this.store.commit().catch((err: unknown) => this.onBackgroundError(err));
    });
  }

  /**
   * Writes the message before an entry that references it. Always written (an idempotent
   * insert): the store may have collected an earlier copy once its last reference went.
   */
  private writeMessage(message: Message): void {
    this.store.putMessage(toStoredMessage(message));
  }
}

/** The stored form of a message. */
export function toStoredMessage(message: Message): StoredMessage {
  return {
    id: message.id,
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
    properties: message.properties,
    expiresAt: message.expiresAt,
    origin: message.origin,
  };
}

function toStoredDelivery(delivery: Delivery): StoredDelivery {
  return {
    messageId: delivery.message.id,
    qos: delivery.qos,
    retain: delivery.retain,
    subscriptionIds: delivery.subscriptionIds as number[] | undefined,
    shareFilter: delivery.shareFilter,
  };
}

/** A delivery from its stored form and its (restored) message. */
export function fromStoredDelivery(stored: StoredDelivery, message: Message): Delivery {
  return {
    message,
    qos: stored.qos,
    retain: stored.retain,
    subscriptionIds: stored.subscriptionIds,
    shareFilter: stored.shareFilter,
  };
}

/** True when both lists hold the same promises, in the same order. */
function samePromises(a: readonly Promise<void>[], b: readonly Promise<void>[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
