/**
 * This node's route table in Redis: the filters its sessions subscribe to (a hash per node,
 * `routes:<id>`), announced on the `routes` channel when one appears or goes. Changes are
 * seen by observing the router (first subscriber of a filter here, last one gone), batched
 * per event-loop turn, and written with their announcement in one MULTI, so a node that
 * reads the hash after subscribing to the channel misses nothing.
 */

import type { RouteObserver, Subscriber, Subscription } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import { isRemoteNode } from './remote-node.js';
import type { ReplicaWait } from './replica-wait.js';
import { WriteBarrier } from './write-barrier.js';

/** A route change as announced: `{ node, add: [...], remove: [...] }` or `{ node, left }`. */
export interface RouteAnnouncement {
  node: number;
  add?: string[];
  remove?: string[];
  /** The node's whole table was rewritten: read it again. */
  resync?: boolean;
  /** The node left. */
  left?: boolean;
}

/** Keeps this node's route table in Redis in step with its local subscriptions. */
export class LocalRoutes implements RouteObserver {
  /** Local subscribers per filter (sessions only; remote nodes are not announced back). */
  private readonly counts = new Map<string, number>();
  /** Filters whose presence changed since the last write: true present, false gone. */
  private readonly pending = new Map<string, boolean>();
  private scheduled = false;
  private nodeId = -1;

  private readonly barrier: WriteBarrier;

  /**
   * `noteWrite` is told of each route change (a SUBACK then waits for its write); with
   * `replicas` (`cluster.wait`) it also waits for the replicas to have it, or the timeout.
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly logger: Logger,
    noteWrite?: () => void,
    private readonly replicas?: ReplicaWait,
  ) {
    this.barrier = new WriteBarrier(noteWrite);
  }

  /**
   * Settles once every route change so far is written and announced (or its write failed:
   * the table is written again when Redis is back, so a failure does not fail the SUBACK).
   */
  commit(): Promise<void> {
    return this.barrier.commit(this.scheduled);
  }

  /** Filters this node's sessions subscribe to. */
  get filters(): IterableIterator<string> {
    return this.counts.keys();
  }

  /** Starts announcing as node `nodeId`, writing the whole table first. */
  async announceAs(nodeId: number): Promise<void> {
    this.nodeId = nodeId;
    await this.republish();
  }

  /** Stops announcing (the node is leaving: membership removes the table). */
  stop(): void {
    this.nodeId = -1;
    this.pending.clear();
  }

  added(subscription: Subscription): void {
    if (isRemoteNode(subscription.subscriber)) return;
    const filter = subscription.filter;
    const count = (this.counts.get(filter) ?? 0) + 1;
    this.counts.set(filter, count);
    if (count === 1) this.change(filter, true);
  }

  removed(subscriber: Subscriber, filter: string): void {
    if (isRemoteNode(subscriber)) return;
    const count = (this.counts.get(filter) ?? 0) - 1;
    if (count > 0) {
      this.counts.set(filter, count);
      return;
    }
    this.counts.delete(filter);
    this.change(filter, false);
  }

  /**
   * Writes the whole table again and tells the others to read it (after Redis lost it, or
   * at start).
   */
  async republish(): Promise<void> {
    if (this.nodeId < 0) return;
    this.pending.clear();
    const key = this.keys.routes(this.nodeId);
    const multi = this.redis.multi().del(key);
    const fields: string[] = [];
    for (const filter of this.counts.keys()) fields.push(filter, '1');
    if (fields.length > 0) multi.hset(key, ...fields);
    multi.publish(this.keys.routeChanges, JSON.stringify({ node: this.nodeId, resync: true }));
    await multi.exec();
  }

  private change(filter: string, present: boolean): void {
    if (this.nodeId < 0) return;
    this.pending.set(filter, present);
    this.barrier.wrote();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.barrier.sent(this.flush()));
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.nodeId < 0 || this.pending.size === 0) return;
    const add: string[] = [];
    const remove: string[] = [];
    for (const [filter, present] of this.pending) (present ? add : remove).push(filter);
    this.pending.clear();
    const key = this.keys.routes(this.nodeId);
    const multi = this.redis.multi();
    if (add.length > 0) multi.hset(key, ...add.flatMap((filter) => [filter, '1']));
    if (remove.length > 0) multi.hdel(key, ...remove);
    const announcement: RouteAnnouncement = { node: this.nodeId, add, remove };
    multi.publish(this.keys.routeChanges, JSON.stringify(announcement));
    const exec = multi.exec();
    // Sent right after the MULTI. Too few replicas in time (counted and logged there) does not
    // fail the SUBACK, as a failed write does not: the table is on the master, and a node
    // writes its whole table again on a new master after a failover.
    const replicated = this.replicas?.after([exec]).catch(() => {});
    try {
      await exec;
      await replicated;
    } catch (err) {
      // Redis will be back: the membership heartbeat republishes the whole table then.
      this.logger.warn({ err: String(err) }, 'cluster: route table update failed');
    }
  }
}
