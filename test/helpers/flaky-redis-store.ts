/**
 * Test helper: a Redis store whose batches fail on demand (Flaky, resync-scenario.ts): while
 * `failing`, the session writes (record, owner, deletion, subscriptions, will, queue,
 * inflight, inbound QoS 2 ids) are dropped and commits fail (the batch is still sent: what
 * was not dropped lands); while `failingCommits`, writes land and commits fail (a `WAIT`
 * answered short).
 */
import { RedisStore } from '../../src/storage/index.js';
import type { Flaky } from './resync-scenario.js';

export class FlakyRedisStore extends RedisStore implements Flaky {
  failing = false;
  failingCommits = false;
  override putInflight(...args: Parameters<RedisStore['putInflight']>): void {
    if (!this.failing) super.putInflight(...args);
  }
  override deleteInflight(...args: Parameters<RedisStore['deleteInflight']>): void {
    if (!this.failing) super.deleteInflight(...args);
  }
  override dequeue(...args: Parameters<RedisStore['dequeue']>): void {
    if (!this.failing) super.dequeue(...args);
  }
  override removeQueued(...args: Parameters<RedisStore['removeQueued']>): void {
    if (!this.failing) super.removeQueued(...args);
  }
  override putSession(...args: Parameters<RedisStore['putSession']>): void {
    if (!this.failing) super.putSession(...args);
  }
  override setSessionOwner(...args: Parameters<RedisStore['setSessionOwner']>): void {
    if (!this.failing) super.setSessionOwner(...args);
  }
  override deleteSession(...args: Parameters<RedisStore['deleteSession']>): void {
    if (!this.failing) super.deleteSession(...args);
  }
  override deleteQueue(...args: Parameters<RedisStore['deleteQueue']>): void {
    if (!this.failing) super.deleteQueue(...args);
  }
  override putSubscription(...args: Parameters<RedisStore['putSubscription']>): void {
    if (!this.failing) super.putSubscription(...args);
  }
  override deleteSubscription(...args: Parameters<RedisStore['deleteSubscription']>): void {
    if (!this.failing) super.deleteSubscription(...args);
  }
  override addInboundQos2(...args: Parameters<RedisStore['addInboundQos2']>): void {
    if (!this.failing) super.addInboundQos2(...args);
  }
  override deleteInboundQos2(...args: Parameters<RedisStore['deleteInboundQos2']>): void {
    if (!this.failing) super.deleteInboundQos2(...args);
  }
  override putWill(...args: Parameters<RedisStore['putWill']>): void {
    if (!this.failing) super.putWill(...args);
  }
  override deleteWill(...args: Parameters<RedisStore['deleteWill']>): void {
    if (!this.failing) super.deleteWill(...args);
  }
  override enqueue(...args: Parameters<RedisStore['enqueue']>): void {
    if (!this.failing) super.enqueue(...args);
  }
  override async commit(): Promise<void> {
    if (this.failing || this.failingCommits) throw new Error('store unreachable');
    return super.commit();
  }
}
