/**
 * Named positions (`<prefix>cursor:<name>`, a string) written in the group commit's batches:
 * a cluster node's "consumed up to" position of its inbox rides in the same MULTI/EXEC as the
 * queue and inflight writes its reads produced, so the survivor of its death reads on from
 * exactly what the store holds (no QoS 2 message twice, none lost).
 */
import type { StoreCursors } from '../../ports/index.js';
import type { RedisContext } from './redis-context.js';

/** StoreCursors over the Redis store's connection and batches. */
export class RedisCursors implements StoreCursors {
  constructor(private readonly ctx: RedisContext) {}

  set(name: string, position: string, committed?: () => void): void {
    // Not open (yet, or any more): nothing was written that the position could vouch for.
    if (this.ctx.live === undefined) return;
    this.ctx.live.batcher.add({
      name: 'set',
      args: [this.key(name), position],
      onReply: committed === undefined ? undefined : () => committed(),
    });
  }

  async read(name: string): Promise<string | undefined> {
    const { client, batcher } = this.ctx.conn();
    batcher.flush(); // Redis runs the read after what this store instance wrote
    return (await client.get(this.key(name))) ?? undefined;
  }

  delete(name: string): void {
    this.ctx.live?.batcher.add({ name: 'del', args: [this.key(name)] });
  }

  private key(name: string): string {
    return `${this.ctx.keys.prefix}cursor:${name}`;
  }
}
