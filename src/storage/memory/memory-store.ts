/**
 * The memory store: the three store ports held in maps, for tests, embedding and brokers
 * that need no durability. Nothing survives the process; `commit()` resolves at once.
 */
import type {
  BrokerStore,
  LoadedQueue,
  LoadedQueues,
  LoadedState,
  QueuePage,
  RetainedLoad,
  SessionOwner,
  StoredDelivery,
  StoredInflight,
  StoredMessage,
  StoredSessionRecord,
  StoredSubscription,
  StoredWill,
} from '../../ports/index.js';
import { loadState } from '../shared/load-state.js';
import { MessageIds } from '../shared/message-ids.js';
import { MemoryMessages } from './memory-messages.js';
import { MemoryRetained } from './memory-retained.js';
import { MemorySessions } from './memory-sessions.js';

/**
 * A BrokerStore in memory: each port's part in its own class, behind one `closed` check (reads
 * of a closed store reject, writes throw).
 */
export class MemoryStore implements BrokerStore {
  readonly kind = 'memory';
  /** Never full. */
  readonly full = false;
  /** Number of commit() calls (the memory store has no transactions to count). */
  transactions = 0;
  private readonly ids = new MessageIds();
  private readonly sessions = new MemorySessions();
  private readonly messages = new MemoryMessages(this.ids);
  private readonly retained = new MemoryRetained(this.ids);
  private closed = false;

  async open(): Promise<void> {
    this.closed = false;
  }

  async commit(): Promise<void> {
    this.check();
    this.transactions++;
    this.messages.collectDue();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async load(): Promise<LoadedState> {
    this.check();
    return loadState(this);
  }

  // The session port.

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    this.check();
    this.sessions.putSession(clientId, expiryInterval, expiresAt);
  }

  setSessionOwner(clientId: string, owner: SessionOwner): void {
    this.check();
    this.sessions.setSessionOwner(clientId, owner);
  }

  deleteSession(clientId: string): void {
    this.check();
    this.sessions.deleteSession(clientId);
  }

  putSubscription(clientId: string, subscription: StoredSubscription): void {
    this.check();
    this.sessions.putSubscription(clientId, subscription);
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.check();
    this.sessions.deleteSubscription(clientId, filter);
  }

  addInboundQos2(clientId: string, packetId: number): void {
    this.check();
    this.sessions.addInboundQos2(clientId, packetId);
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    this.check();
    this.sessions.deleteInboundQos2(clientId, packetId);
  }

  putWill(clientId: string, will: StoredWill): void {
    this.check();
    this.sessions.putWill(clientId, will);
  }

  deleteWill(clientId: string): void {
    this.check();
    this.sessions.deleteWill(clientId);
  }

  async loadSessions(): Promise<StoredSessionRecord[]> {
    this.check();
    return this.sessions.loadSessions();
  }

  async loadSession(clientId: string): Promise<StoredSessionRecord | undefined> {
    this.check();
    return this.sessions.loadSession(clientId);
  }

  async loadWills(): Promise<Map<string, StoredWill>> {
    this.check();
    return this.sessions.loadWills();
  }

  // The message port.

  putMessage(message: StoredMessage): void {
    this.check();
    this.messages.putMessage(message);
  }

  enqueue(clientId: string, seq: number, delivery: StoredDelivery): void {
    this.check();
    this.messages.enqueue(clientId, seq, delivery);
  }

  async readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuePage> {
    this.check();
    return this.messages.readQueue(clientId, afterSeq, limit);
  }

  dequeue(clientId: string, uptoSeq: number): void {
    this.check();
    this.messages.dequeue(clientId, uptoSeq);
  }

  removeQueued(clientId: string, seq: number): void {
    this.check();
    this.messages.removeQueued(clientId, seq);
  }

  putInflight(clientId: string, inflight: StoredInflight): void {
    this.check();
    this.messages.putInflight(clientId, inflight);
  }

  deleteInflight(clientId: string, packetId: number): void {
    this.check();
    this.messages.deleteInflight(clientId, packetId);
  }

  deleteQueue(clientId: string): void {
    this.check();
    this.messages.deleteQueue(clientId);
  }

  async loadQueues(): Promise<LoadedQueues> {
    this.check();
    return this.messages.loadQueues();
  }

  async loadQueue(clientId: string): Promise<LoadedQueue> {
    this.check();
    return this.messages.loadQueue(clientId);
  }

  /** Deletes every message no queue or inflight entry references, now. */
  gc(): void {
    this.messages.gc();
  }

  /** Number of stored messages (retained ones excluded): for tests and metrics. */
  countMessages(): number {
    return this.messages.countMessages();
  }

  // The retained port.

  putRetained(message: StoredMessage): void {
    this.check();
    this.retained.putRetained(message);
  }

  deleteRetained(topic: string): void {
    this.check();
    this.retained.deleteRetained(topic);
  }

  async matchRetained(filter: string, now: number): Promise<StoredMessage[]> {
    this.check();
    return this.retained.matchRetained(filter, now);
  }

  async loadRetained(
    now: number,
    accept: (message: StoredMessage) => boolean,
  ): Promise<RetainedLoad> {
    this.check();
    return this.retained.loadRetained(now, accept);
  }

  /** Number of retained messages stored. */
  countRetained(): number {
    return this.retained.countRetained();
  }

  private check(): void {
    if (this.closed) throw new Error('the memory store is closed');
  }
}
