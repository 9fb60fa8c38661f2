/**
 * The message port of the Redis store: queue and inflight entries in the client's slot, each
 * counting a reference on its message (redis-context.ts), in the current batch. The reads
 * are in redis-queue-reads.ts.
 */
import type {
  LoadedQueue,
  LoadedQueues,
  QueuePage,
  StoredDelivery,
  StoredInflight,
  StoredMessage,
} from '../../ports/index.js';
import { encodeInflightDelivery, encodeQueueEntry, INFLIGHT_STATE } from './redis-codec.js';
import type { RedisContext } from './redis-context.js';
import { readQueuePage, readQueueState, readQueueStates } from './redis-queue-reads.js';

/** Messages, queues and inflight entries. */
export class RedisMessages {
  constructor(private readonly ctx: RedisContext) {}

  putMessage(message: StoredMessage): void {
    this.ctx.conn();
    this.ctx.putMessage(message);
  }

  enqueue(clientId: string, seq: number, delivery: StoredDelivery): void {
    const { batcher } = this.ctx.conn();
    const k = this.ctx.keys.client(clientId);
    const size = this.ctx.payloadSize(delivery.messageId);
    this.ctx.addReference(delivery.messageId);
    batcher.add({ name: 'zadd', args: [k.queue, seq, encodeQueueEntry(seq, delivery, size)] });
    batcher.add({ name: 'hincrby', args: [k.queueMeta, 'b', size] });
    this.ctx.noteQueue(clientId);
  }

  readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuePage> {
    this.ctx.conn().batcher.flush();
    return readQueuePage(this.ctx, clientId, afterSeq, limit);
  }

  dequeue(clientId: string, uptoSeq: number): void {
    const k = this.ctx.keys.client(clientId);
    this.ctx.conn().batcher.add({
      name: 'pipitDequeue',
      args: [k.queue, k.queueMeta, uptoSeq],
      onReply: (ids) => this.ctx.releaseReferences(ids),
    });
  }

  putInflight(clientId: string, inflight: StoredInflight): void {
    const { batcher } = this.ctx.conn();
    const k = this.ctx.keys.client(clientId);
    const d = inflight.delivery;
    this.ctx.addReference(d.messageId);
    batcher.add({
      name: 'pipitPutInflight',
      args: [
        k.inflight,
        k.queueMeta,
        inflight.packetId,
        d.messageId,
        INFLIGHT_STATE[inflight.state],
        encodeInflightDelivery(d),
      ],
      onReply: (id) => this.ctx.releaseReferences(id),
    });
    this.ctx.noteQueue(clientId);
  }

  deleteInflight(clientId: string, packetId: number): void {
    const k = this.ctx.keys.client(clientId);
    this.ctx.conn().batcher.add({
      name: 'pipitDeleteInflight',
      args: [k.inflight, packetId],
      onReply: (id) => this.ctx.releaseReferences(id),
    });
  }

  deleteQueue(clientId: string): void {
    const { batcher } = this.ctx.conn();
    const k = this.ctx.keys.client(clientId);
    batcher.add({
      name: 'pipitDeleteQueue',
      args: [k.queue, k.queueMeta, k.inflight],
      onReply: (ids) => this.ctx.releaseReferences(ids),
    });
    batcher.add({ name: 'srem', args: [this.ctx.keys.queues, clientId] });
    this.ctx.forgetQueue(clientId);
  }

  loadQueues(): Promise<LoadedQueues> {
    this.ctx.conn().batcher.flush();
    return readQueueStates(this.ctx);
  }

  loadQueue(clientId: string): Promise<LoadedQueue> {
    this.ctx.conn().batcher.flush();
    return readQueueState(this.ctx, clientId);
  }

  /**
   * Makes the current batch's commit wait until the references it takes back are taken, so
   * every message no entry references is gone when it resolves (references are counted, so
   * there is nothing else to collect).
   */
  gc(): void {
    this.ctx.conn().batcher.requestCollect();
  }
}
