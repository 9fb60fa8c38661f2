/**
 * The memory store: the BrokerStore port held in maps, for tests, embedding and brokers
 * that need no durability. Nothing survives the process; `commit()` resolves at once.
 */
import type {
  BrokerStore,
  LoadedState,
  QueuedEntry,
  RetainedLoad,
  SessionOwner,
  StoredDelivery,
  StoredInflight,
  StoredMessage,
  StoredSubscription,
  StoredWill,
} from '../../ports/index.js';
import { copyDelivery, copyMessage, copySubscription, copyWill } from '../shared/copy.js';
import { GcCandidates } from '../shared/message-gc.js';
import { ClientState } from './client-state.js';

/** How long an unreferenced message waits before it is collected (see GcCandidates). */
const GC_DELAY_MS = 1000;

/** A BrokerStore in memory. */
export class MemoryStore implements BrokerStore {
  readonly kind = 'memory';
  /** Never full. */
  readonly full = false;
  /** Number of commit() calls (the memory store has no transactions to count). */
  transactions = 0;
  private readonly clients = new Map<string, ClientState>();
  private readonly messages = new Map<number, StoredMessage>();
  /** Queue and inflight entries referencing each message. */
  private readonly refs = new Map<number, number>();
  private readonly wills = new Map<string, StoredWill>();
  private readonly retained = new Map<string, StoredMessage>();
  private readonly gcCandidates = new GcCandidates(GC_DELAY_MS);
  private lastMessageId = 0;
  private closed = false;

  async open(): Promise<void> {
    this.closed = false;
  }

  async load(): Promise<LoadedState> {
    const sessions = [];
    const messages = new Map<number, StoredMessage>();
    for (const [clientId, state] of this.clients) {
      const session = state.toStored(clientId);
      if (session === undefined) continue;
      sessions.push(session);
      for (const f of session.inflight) {
        const m = this.messages.get(f.delivery.messageId);
        if (m !== undefined) messages.set(m.id, m);
      }
    }
    return {
      sessions,
      messages,
      wills: new Map([...this.wills].map(([id, w]) => [id, copyWill(w)])),
      lastMessageId: this.lastMessageId,
    };
  }

  async loadRetained(
    now: number,
    accept: (message: StoredMessage) => boolean,
  ): Promise<RetainedLoad> {
    this.check();
    const result: RetainedLoad = { restored: 0, expired: 0, dropped: 0 };
    const topics = [...this.retained.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let refused = false;
    for (const topic of topics) {
      const message = this.retained.get(topic)!;
      if (message.expiresAt !== undefined && message.expiresAt <= now) {
        this.retained.delete(topic);
        result.expired++;
      } else if (refused || !accept(copyMessage(message))) {
        refused = true;
        this.retained.delete(topic);
        result.dropped++;
      } else {
        result.restored++;
      }
    }
    return result;
  }

  putMessage(message: StoredMessage): void {
    this.check();
    if (message.id > this.lastMessageId) this.lastMessageId = message.id;
    if (this.messages.has(message.id)) return;
    this.messages.set(message.id, copyMessage(message));
    this.gcCandidates.add(message.id);
  }

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    this.check();
    const state = this.client(clientId);
    state.session = { expiryInterval, expiresAt, owner: state.session?.owner };
  }

  setSessionOwner(clientId: string, owner: SessionOwner): void {
    this.check();
    const session = this.clients.get(clientId)?.session;
    if (session !== undefined) session.owner = { username: owner.username };
  }

  deleteSession(clientId: string): void {
    this.check();
    const state = this.clients.get(clientId);
    this.wills.delete(clientId);
    if (state === undefined) return;
    for (const entry of state.all()) this.unref(entry.delivery.messageId);
    for (const f of state.inflight.values()) this.unref(f.delivery.messageId);
    this.clients.delete(clientId);
  }

  putSubscription(clientId: string, subscription: StoredSubscription): void {
    this.check();
    this.client(clientId).subscriptions.set(subscription.filter, copySubscription(subscription));
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.check();
    this.clients.get(clientId)?.subscriptions.delete(filter);
  }

  enqueue(clientId: string, delivery: StoredDelivery): number {
    this.check();
    const state = this.client(clientId);
    const seq = ++state.lastSeq;
    state.push({ seq, delivery: copyDelivery(delivery) });
    state.queuedBytes += this.messages.get(delivery.messageId)?.payload.length ?? 0;
    this.ref(delivery.messageId);
    return seq;
  }

  async readQueue(
    clientId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ entries: QueuedEntry[]; messages: Map<number, StoredMessage> }> {
    this.check();
    const entries = this.clients.get(clientId)?.read(afterSeq, limit) ?? [];
    const messages = new Map<number, StoredMessage>();
    for (const e of entries) {
      const m = this.messages.get(e.delivery.messageId);
      if (m !== undefined) messages.set(m.id, m);
    }
    return {
      entries: entries.map((e) => ({ seq: e.seq, delivery: copyDelivery(e.delivery) })),
      messages,
    };
  }

  dequeue(clientId: string, uptoSeq: number): void {
    this.check();
    const state = this.clients.get(clientId);
    if (state === undefined) return;
    for (const entry of state.removeUpTo(uptoSeq)) {
      state.queuedBytes -= this.messages.get(entry.delivery.messageId)?.payload.length ?? 0;
      this.unref(entry.delivery.messageId);
    }
  }

  putInflight(clientId: string, inflight: StoredInflight): void {
    this.check();
    const map = this.client(clientId).inflight;
    const old = map.get(inflight.packetId);
    const entry = {
      packetId: inflight.packetId,
      state: inflight.state,
      delivery: copyDelivery(inflight.delivery),
    };
    if (old !== undefined && old.delivery.messageId === inflight.delivery.messageId) {
      map.set(inflight.packetId, entry); // same message: keeps its place in send order
      return;
    }
    if (old !== undefined) {
      map.delete(inflight.packetId); // another message under a reused packet id: goes last
      this.unref(old.delivery.messageId);
    }
    map.set(inflight.packetId, entry);
    this.ref(inflight.delivery.messageId);
  }

  deleteInflight(clientId: string, packetId: number): void {
    this.check();
    const map = this.clients.get(clientId)?.inflight;
    const old = map?.get(packetId);
    if (map === undefined || old === undefined) return;
    map.delete(packetId);
    this.unref(old.delivery.messageId);
  }

  addInboundQos2(clientId: string, packetId: number): void {
    this.check();
    this.client(clientId).inboundQos2.add(packetId);
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    this.check();
    this.clients.get(clientId)?.inboundQos2.delete(packetId);
  }

  putWill(clientId: string, will: StoredWill): void {
    this.check();
    this.wills.set(clientId, copyWill(will));
  }

  deleteWill(clientId: string): void {
    this.check();
    this.wills.delete(clientId);
  }

  putRetained(message: StoredMessage): void {
    this.check();
    if (message.id > this.lastMessageId) this.lastMessageId = message.id;
    this.retained.set(message.topic, copyMessage(message));
  }

  deleteRetained(topic: string): void {
    this.check();
    this.retained.delete(topic);
  }

  async commit(): Promise<void> {
    this.check();
    this.transactions++;
    for (const id of this.gcCandidates.takeDue()) this.collect(id);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Deletes every message no queue or inflight entry references, now. */
  gc(): void {
    for (const id of this.messages.keys()) this.collect(id);
    this.gcCandidates.clear();
  }

  /** Number of retained messages stored. */
  countRetained(): number {
    return this.retained.size;
  }

  /** Number of stored messages (retained ones excluded): for tests and metrics. */
  countMessages(): number {
    return this.messages.size;
  }

  private collect(id: number): void {
    if ((this.refs.get(id) ?? 0) === 0) this.messages.delete(id);
  }

  private ref(id: number): void {
    this.refs.set(id, (this.refs.get(id) ?? 0) + 1);
  }

  private unref(id: number): void {
    const n = (this.refs.get(id) ?? 0) - 1;
    if (n > 0) {
      this.refs.set(id, n);
      return;
    }
    this.refs.delete(id);
    this.gcCandidates.add(id);
  }

  private client(clientId: string): ClientState {
    let state = this.clients.get(clientId);
    if (state === undefined) {
      state = new ClientState();
      this.clients.set(clientId, state);
    }
    return state;
  }

  private check(): void {
    if (this.closed) throw new Error('the memory store is closed');
  }
}
