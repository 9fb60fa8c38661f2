/**
 * The message port of the SQLite store: messages stored once, queue and inflight rows that
 * reference them, and message GC (a message whose last reference went is a GC candidate,
 * collected a generation later in a commit, see GcCandidates).
 */
import type {
  LoadedQueue,
  LoadedQueues,
  QueuePage,
  StoredDelivery,
  StoredInflight,
  StoredMessage,
} from '../../ports/index.js';
import { loadQueueStateOf, loadQueueStates } from './load-queues.js';
import { explain } from './open-database.js';
import { readQueueRows } from './read-queue.js';
import { deliveryParams, INFLIGHT_STATE, messageParams } from './rows.js';
import type { SqliteContext } from './sqlite-context.js';

/** Messages, queues and inflight entries, in the store's current batch. */
export class SqliteMessages {
  /** Send order of inflight rows across the store (continued from the table at open). */
  private nextOrd = 0;

  constructor(private readonly ctx: SqliteContext) {}

  /** The store opened: inflight order continues above `maxOrd`. */
  opened(maxOrd: number): void {
    this.nextOrd = maxOrd;
  }

  putMessage(message: StoredMessage): void {
    const { stm, batcher } = this.ctx.conn();
    this.ctx.ids.saw(message.id);
    batcher.run(() => stm.putMessage.run(...messageParams(message)));
    this.ctx.gcCandidates.add(message.id);
  }

  enqueue(clientId: string, seq: number, delivery: StoredDelivery): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.enqueue.run(clientId, seq, ...deliveryParams(delivery)));
  }

  async readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuePage> {
    return readQueueRows(this.ctx.conn().stm, clientId, afterSeq, limit);
  }

  dequeue(clientId: string, uptoSeq: number): void {
    const { stm, batcher } = this.ctx.conn();
    const gc = this.ctx.gcCandidates;
    batcher.run(() => {
      for (const id of stm.dequeue.all(clientId, uptoSeq) as number[]) gc.add(id);
    });
  }

  removeQueued(clientId: string, seq: number): void {
    const { stm, batcher } = this.ctx.conn();
    const gc = this.ctx.gcCandidates;
    batcher.run(() => {
      const id = stm.removeQueued.get(clientId, seq) as number | undefined;
      if (id !== undefined) gc.add(id);
    });
  }

  putInflight(clientId: string, inflight: StoredInflight): void {
    const { stm, batcher } = this.ctx.conn();
    const d = inflight.delivery;
    batcher.run(() => {
      const old = stm.inflightMessage.get(clientId, inflight.packetId) as number | undefined;
      if (old !== undefined && old !== d.messageId) this.ctx.gcCandidates.add(old);
      stm.putInflight.run(
        clientId,
        inflight.packetId,
        ++this.nextOrd,
        INFLIGHT_STATE[inflight.state],
        ...deliveryParams(d),
      );
    });
  }

  deleteInflight(clientId: string, packetId: number): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => {
      const id = stm.deleteInflight.get(clientId, packetId) as number | undefined;
      if (id !== undefined) this.ctx.gcCandidates.add(id);
    });
  }

  deleteQueue(clientId: string): void {
    const { stm, batcher } = this.ctx.conn();
    const gc = this.ctx.gcCandidates;
    batcher.run(() => {
      for (const id of stm.deleteQueue.all(clientId) as number[]) gc.add(id);
      for (const id of stm.deleteAllInflight.all(clientId) as number[]) gc.add(id);
    });
  }

  async loadQueues(): Promise<LoadedQueues> {
    try {
      const { queues, messages } = loadQueueStates(this.ctx.conn().stm);
      // Ids of this batch are written to meta only at commit (read-your-writes).
      return { queues, messages, lastMessageId: this.ctx.ids.last };
    } catch (err) {
      throw explain(err, this.ctx.file);
    }
  }

  async loadQueue(clientId: string): Promise<LoadedQueue> {
    try {
      return loadQueueStateOf(this.ctx.conn().stm, clientId);
    } catch (err) {
      throw explain(err, this.ctx.file);
    }
  }

  /** Deletes, in the current batch, every message no queue or inflight entry references. */
  gc(): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.collectAll.run());
    this.ctx.gcCandidates.clear();
  }
}
