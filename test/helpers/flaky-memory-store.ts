/**
 * Test helper: a memory store whose batches fail on demand (Flaky, resync-scenario.ts): while
 * `failing`, every session write (record, owner, deletion, subscriptions, will, queue,
 * inflight, inbound QoS 2 ids) is dropped and commits fail; while `failingCommits`, writes
 * land and commits fail (a `WAIT` answered short).
 */
import { MemoryStore } from '../../src/storage/index.js';
import type { Flaky } from './resync-scenario.js';

export class FlakyStore extends MemoryStore implements Flaky {
  failing = false;
  failingCommits = false;
  override putSession(...args: Parameters<MemoryStore['putSession']>): void {
    if (!this.failing) super.putSession(...args);
  }
  override setSessionOwner(...args: Parameters<MemoryStore['setSessionOwner']>): void {
    if (!this.failing) super.setSessionOwner(...args);
  }
  override deleteSession(...args: Parameters<MemoryStore['deleteSession']>): void {
    if (!this.failing) super.deleteSession(...args);
  }
  override deleteQueue(...args: Parameters<MemoryStore['deleteQueue']>): void {
    if (!this.failing) super.deleteQueue(...args);
  }
  override putSubscription(...args: Parameters<MemoryStore['putSubscription']>): void {
    if (!this.failing) super.putSubscription(...args);
  }
  override deleteSubscription(...args: Parameters<MemoryStore['deleteSubscription']>): void {
    if (!this.failing) super.deleteSubscription(...args);
  }
  override putWill(...args: Parameters<MemoryStore['putWill']>): void {
    if (!this.failing) super.putWill(...args);
  }
  override deleteWill(...args: Parameters<MemoryStore['deleteWill']>): void {
    if (!this.failing) super.deleteWill(...args);
  }
  override putInflight(...args: Parameters<MemoryStore['putInflight']>): void {
    if (!this.failing) super.putInflight(...args);
  }
  override deleteInflight(...args: Parameters<MemoryStore['deleteInflight']>): void {
    if (!this.failing) super.deleteInflight(...args);
  }
  override addInboundQos2(...args: Parameters<MemoryStore['addInboundQos2']>): void {
    if (!this.failing) super.addInboundQos2(...args);
  }
  override deleteInboundQos2(...args: Parameters<MemoryStore['deleteInboundQos2']>): void {
    if (!this.failing) super.deleteInboundQos2(...args);
  }
  override enqueue(...args: Parameters<MemoryStore['enqueue']>): void {
    if (!this.failing) super.enqueue(...args);
  }
  override dequeue(...args: Parameters<MemoryStore['dequeue']>): void {
    if (!this.failing) super.dequeue(...args);
  }
  override async commit(): Promise<void> {
    if (this.failing || this.failingCommits) throw new Error('store unreachable');
    return super.commit();
  }
}
