/**
 * The message port of the Redis store: queue and inflight entries in the client's slot, each
 * counting a reference on its message (redis-context.ts), in the current batch; the scripts
 * that remove entries take their references back in the same step (redis-scripts.ts). The
 * reads are in redis-queue-reads.ts.
 */
import type {
  LoadedQueue,
  LoadedQueues,
  QueuePage,
  StoredDelivery,
  StoredInflight,
  StoredMessage,
  WriteFence,
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
    const { batcher } = this.ctx.conn();
    const { keys } = this.ctx;
    const k = keys.client(clientId);
    batcher.add({
      name: 'pipitDequeue',
      args: [k.queue, k.queueMeta, keys.released, uptoSeq, keys.messagePrefix],
    });
    this.ctx.noteRelease();
  }

  removeQueued(clientId: string, seq: number): void {
    const { batcher } = this.ctx.conn();
    const { keys } = this.ctx;
    const k = keys.client(clientId);
    batcher.add({
      name: 'pipitRemoveQueued',
      args: [k.queue, k.queueMeta, keys.released, seq, keys.messagePrefix],
    });
    this.ctx.noteRelease();
  }

  putInflight(clientId: string, inflight: StoredInflight): void {
    const { batcher } = this.ctx.conn();
    const { keys } = this.ctx;
    const k = keys.client(clientId);
    const d = inflight.delivery;
    this.ctx.addReference(d.messageId);
    batcher.add({
      name: 'pipitPutInflight',
      args: [
        k.inflight,
        k.queueMeta,
        keys.released,
        inflight.packetId,
        d.messageId,
        INFLIGHT_STATE[inflight.state],
        encodeInflightDelivery(d),
        keys.messagePrefix,
      ],
    });
    this.ctx.noteRelease();
    this.ctx.noteQueue(clientId);
  }

  deleteInflight(clientId: string, packetId: number): void {
    const { batcher } = this.ctx.conn();
    const { keys } = this.ctx;
    batcher.add({
      name: 'pipitDeleteInflight',
      args: [keys.client(clientId).inflight, keys.released, packetId, keys.messagePrefix],
    });
    this.ctx.noteRelease();
  }

  /** With `fence`: one script that deletes only while the fence holds (WriteFence). */
  deleteQueue(clientId: string, fence?: WriteFence): void {
    const { batcher } = this.ctx.conn();
    const { keys } = this.ctx;
    const k = keys.client(clientId);
    if (fence !== undefined) {
      if (!keys.reaches(fence.key)) return;
      const named = [fence.key, k.queue, k.queueMeta, k.inflight, keys.released, keys.queues];
      batcher.add({
        name: 'pipitDeleteQueueIf',
        args: [...named, fence.value, keys.messagePrefix, clientId],
      });
      this.ctx.noteRelease();
      this.ctx.forgetQueue(clientId);
      return;
    }
    batcher.add({
      name: 'pipitDeleteQueue',
      args: [k.queue, k.queueMeta, k.inflight, keys.released, keys.messagePrefix],
    });
    this.ctx.noteRelease();
    batcher.add({ name: 'srem', args: [keys.queues, clientId] });
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
   * Nothing to do: each batch that removes entries takes their references back and deletes
   * the messages left unreferenced before it commits (references are counted, so there is
   * nothing else to collect).
   */
  gc(): void {
    this.ctx.conn();
  }
}
