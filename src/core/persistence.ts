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
  WriteFence,
} from '../ports/index.js';
import {
  type ClientWritesFailed,
  type CommitParticipant,
  CommitTurns,
  type TurnMarker,
} from './commit-turns.js';
import type { Delivery, Message } from './message.js';
import { restoreMessage } from './message.js';

export type { ClientWritesFailed, CommitParticipant, TurnMarker } from './commit-turns.js';

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

/** The store (the three store ports in one) as the core uses it. */
export class Persistence {
  /** Increases with every mutation; compare before/after a step to know if it wrote. */
  mutations = 0;
  private commitQueued = false;
  /** Commits, failed turns and the clients they concern (commit-turns.ts). */
  private readonly turns: CommitTurns;

  constructor(
    readonly store: BrokerStore,
    private readonly onBackgroundError: (err: unknown) => void,
    /**
     * A stored queue found fewer entries in the store than it counted (writes the store had
     * committed and lost since: a Redis failover without a WAIT for replicas); reported here.
     */
    readonly lostQueued: (clientId: string, count: number) => void = () => {},
  ) {
    this.turns = new CommitTurns(store);
  }

  /** True while the store cannot write (disk full): new QoS 1/2 work is refused. */
  get full(): boolean {
    return this.store.full;
  }

  /** Settles once what this event-loop turn wrote is durable (CommitTurns.commitAfterTurn). */
  commitAfterTurn(): Promise<void> {
    return this.turns.commitAfterTurn();
  }

  /** Calls `failed` if the store does not commit this turn's writes (CommitTurns.onTurnFailure). */
  onTurnFailure(failed: () => void): TurnMarker {
    return this.turns.onTurnFailure(failed);
  }

  /**
   * Calls `listener` with the clients whose session writes a failed commit did not keep
   * (CommitTurns.onClientWritesFailed; session-resync.ts writes them again).
   */
  onClientWritesFailed(listener: ClientWritesFailed): void {
    this.turns.onClientWritesFailed(listener);
  }

  /**
   * Settles once this turn's deletion of `clientId`'s session is known committed or failed
   * (a failure told first: CommitTurns.deletionTold); undefined when this turn deleted none.
   */
  deletionTold(clientId: string): Promise<void> | undefined {
    return this.turns.deletionTold(clientId);
  }

  /** Commits every mutation so far, the participants' too (CommitTurns.commit). */
  commit(): Promise<void> {
    return this.turns.commit();
  }

  /** Makes {@link commit} wait for `participant` too (CommitTurns.join). */
  join(participant: CommitParticipant): void {
    this.turns.join(participant);
  }

  /** A participant wrote: the step that caused it waits for {@link commit} before its ack. */
  noteWrite(): void {
    this.mutations++;
  }

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    this.touch();
    this.turns.noteClient(clientId);
    this.store.putSession(clientId, expiryInterval, expiresAt);
  }

  setSessionOwner(clientId: string, owner: SessionOwner): void {
    this.touch();
    this.turns.noteClient(clientId);
    this.store.setSessionOwner(clientId, owner);
  }

  /**
   * Removes the session with everything of it: record, subscriptions, will, queue, inflight;
   * with `fence`, only while the fence holds (session-write-guard.ts).
   */
  deleteSession(clientId: string, fence?: WriteFence): void {
    this.touch();
    this.turns.noteClient(clientId, true);
    this.store.deleteSession(clientId, fence);
    this.store.deleteQueue(clientId, fence);
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
    this.turns.noteClient(clientId);
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
    this.turns.noteClient(clientId);
    this.store.deleteSubscription(clientId, filter);
  }

  /**
   * Queues a delivery at `seq` (above every seq of the client's queue: StoredQueue numbers
   * them; or one the store lacks, written again: StoredQueue.storeHeld).
   */
  enqueue(clientId: string, seq: number, delivery: Delivery): void {
    this.touch();
    this.turns.noteClient(clientId);
    this.writeMessage(delivery.message);
    this.store.enqueue(clientId, seq, toStoredDelivery(delivery));
  }

  dequeue(clientId: string, seq: number): void {
    this.touch();
    this.turns.noteClient(clientId);
    this.store.dequeue(clientId, seq);
  }

  /** Removes the queued entry at `seq` only (one taken out of order: StoredQueue.takeShared). */
  removeQueued(clientId: string, seq: number): void {
    this.touch();
    this.turns.noteClient(clientId);
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
    this.turns.noteClient(clientId);
    this.writeMessage(entry.delivery.message);
    this.store.putInflight(clientId, {
      packetId: entry.packetId,
      state: entry.state,
      delivery: toStoredDelivery(entry.delivery),
    });
  }

  deleteInflight(clientId: string, packetId: number): void {
    this.touch();
    this.turns.noteClient(clientId);
    this.store.deleteInflight(clientId, packetId);
  }

  addInboundQos2(clientId: string, packetId: number): void {
    this.touch();
    this.turns.noteClient(clientId);
    this.store.addInboundQos2(clientId, packetId);
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    this.touch();
    this.turns.noteClient(clientId);
    this.store.deleteInboundQos2(clientId, packetId);
  }

  /** Stores the client's will; with `fence`, only while the fence holds. */
  putWill(clientId: string, will: StoredWill, fence?: WriteFence): void {
    this.touch();
    this.turns.noteClient(clientId);
    this.store.putWill(clientId, will, fence);
  }

  deleteWill(clientId: string): void {
    this.touch();
    this.turns.noteClient(clientId);
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
