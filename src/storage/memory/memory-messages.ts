/**
 * The message port in memory: messages stored once and counted by the queue and inflight
 * entries that reference them; a message no entry references is collected a generation
 * later (GcCandidates), as in the SQLite store.
 */
import type {
  LoadedQueue,
  LoadedQueues,
  QueuePage,
  StoredDelivery,
  StoredInflight,
  StoredMessage,
  StoredQueueState,
} from '../../ports/index.js';
import { copyDelivery, copyMessage } from '../shared/copy.js';
import { emptyQueueState } from '../shared/load-state.js';
import { GcCandidates } from '../shared/message-gc.js';
import type { MessageIds } from '../shared/message-ids.js';
import { ClientQueue } from './client-queue.js';

/** How long an unreferenced message waits before it is collected (see GcCandidates). */
const GC_DELAY_MS = 1000;

/** Messages, queues and inflight entries held in maps (the memory store's message port). */
export class MemoryMessages {
  private readonly clients = new Map<string, ClientQueue>();
  private readonly messages = new Map<number, StoredMessage>();
  /** Queue and inflight entries referencing each message. */
  private readonly refs = new Map<number, number>();
  private readonly gcCandidates = new GcCandidates(GC_DELAY_MS);

  constructor(private readonly ids: MessageIds) {}

  putMessage(message: StoredMessage): void {
    this.ids.saw(message.id);
    if (this.messages.has(message.id)) return;
    this.messages.set(message.id, copyMessage(message));
    this.gcCandidates.add(message.id);
  }

  enqueue(clientId: string, seq: number, delivery: StoredDelivery): void {
    const queue = this.client(clientId);
    queue.push({ seq, delivery: copyDelivery(delivery) });
    queue.queuedBytes += this.messages.get(delivery.messageId)?.payload.length ?? 0;
    this.ref(delivery.messageId);
  }

  async readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuePage> {
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
    const queue = this.clients.get(clientId);
    if (queue === undefined) return;
    for (const entry of queue.removeUpTo(uptoSeq)) {
      queue.queuedBytes -= this.messages.get(entry.delivery.messageId)?.payload.length ?? 0;
      this.unref(entry.delivery.messageId);
    }
  }

  removeQueued(clientId: string, seq: number): void {
    const queue = this.clients.get(clientId);
    const entry = queue?.remove(seq);
    if (queue === undefined || entry === undefined) return;
    queue.queuedBytes -= this.messages.get(entry.delivery.messageId)?.payload.length ?? 0;
    this.unref(entry.delivery.messageId);
  }

  putInflight(clientId: string, inflight: StoredInflight): void {
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
    const map = this.clients.get(clientId)?.inflight;
    const old = map?.get(packetId);
    if (map === undefined || old === undefined) return;
    map.delete(packetId);
    this.unref(old.delivery.messageId);
  }

  deleteQueue(clientId: string): void {
    const queue = this.clients.get(clientId);
    if (queue === undefined) return;
    for (const entry of queue.all()) this.unref(entry.delivery.messageId);
    for (const f of queue.inflight.values()) this.unref(f.delivery.messageId);
    this.clients.delete(clientId);
  }

  async loadQueues(): Promise<LoadedQueues> {
    const queues = new Map<string, StoredQueueState>();
    const messages = new Map<number, StoredMessage>();
    for (const [clientId, queue] of this.clients) {
      if (queue.empty) continue;
      const state = queue.toState();
      queues.set(clientId, state);
      this.addInflightMessages(state, messages);
    }
    return { queues, messages, lastMessageId: this.ids.last };
  }

  async loadQueue(clientId: string): Promise<LoadedQueue> {
    const messages = new Map<number, StoredMessage>();
    const state = this.clients.get(clientId)?.toState() ?? emptyQueueState();
    this.addInflightMessages(state, messages);
    return { state, messages };
  }

  /** Collects the messages that waited a generation unreferenced (at each commit). */
  collectDue(): void {
    for (const id of this.gcCandidates.takeDue()) this.collect(id);
  }

  /** Deletes every message no queue or inflight entry references, now. */
  gc(): void {
    for (const id of this.messages.keys()) this.collect(id);
    this.gcCandidates.clear();
  }

  /** Number of stored messages (retained ones excluded). */
  countMessages(): number {
    return this.messages.size;
  }

  private addInflightMessages(state: StoredQueueState, into: Map<number, StoredMessage>): void {
    for (const f of state.inflight) {
      const m = this.messages.get(f.delivery.messageId);
      if (m !== undefined) into.set(m.id, m);
    }
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

  private client(clientId: string): ClientQueue {
    let queue = this.clients.get(clientId);
    if (queue === undefined) {
      queue = new ClientQueue();
      this.clients.set(clientId, queue);
    }
    return queue;
  }
}
