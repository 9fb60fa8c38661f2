/**
 * The other nodes' route tables, applied to this node's router: each peer is one
 * RemoteNode subscriber, subscribed here to every filter of its table. Kept current by the
 * `routes` channel's announcements, and read whole (HKEYS) when a peer joins, announces a
 * resync, or our connection to Redis came back. A read that failed is tried again on each
 * heartbeat until one succeeds ({@link RemoteRoutes.readAgain}): until then that peer's
 * table here holds only what its announcements told since.
 */

import type { Router } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { isValidTopicFilter } from '../protocol/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { parseSharedFilter } from '../topic/index.js';
import type { ClusterKeys } from './keys.js';
import type { RouteAnnouncement } from './local-routes.js';
import { MalformedInput } from './malformed.js';
import { type ForwardSink, RemoteNode } from './remote-node.js';
import { nodeIdField, optionalStringList, parseJsonObject } from './wire-checks.js';

/** Peers as router subscribers. */
export class RemoteRoutes {
  private readonly nodes = new Map<number, RemoteNode>();
  /**
   * Per peer whose table is being read, one map per read under way: the filters its
   * announcements added (true) or removed (false) meanwhile. The table read may be older
   * than them (the read and the announcements travel on different connections): they win
   * over it. Every read under way notes them: an earlier read that comes back after a later
   * one started would otherwise undo what was announced since that later one started.
   */
  private readonly reading = new Map<number, Set<Map<string, boolean>>>();
  /** Peers whose last table read failed: read again on the next heartbeat. */
  private readonly unread = new Set<number>();
  /**
   * How often each peer left (was dropped): a table read that started before the peer left
   * is of a table that is gone or going, and must not bring its routes back.
   */
  private readonly departures = new Map<number, number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly router: Router,
    private readonly sink: ForwardSink,
    private readonly logger: Logger,
    private readonly selfId: () => number,
    private readonly malformed: MalformedInput,
  ) {}

  /** The peers known, with the filters they subscribe to. */
  get peers(): ReadonlyMap<number, RemoteNode> {
    return this.nodes;
  }

  /** Applies an announcement from the `routes` channel (a malformed one is skipped). */
  apply(text: string): void {
    let change: RouteAnnouncement;
    try {
      change = parseRouteAnnouncement(text);
    } catch (err) {
      this.malformed.note('routes', (err as Error).message, { text: MalformedInput.sample(text) });
      return;
    }
    if (change.node === this.selfId()) return;
    if (change.left) {
      this.drop(change.node);
      return;
    }
    if (change.resync) {
      void this.resync(change.node);
      return;
    }
    const node = this.nodeFor(change.node);
    const reads = this.reading.get(change.node) ?? [];
    for (const filter of change.add ?? []) {
      for (const during of reads) during.set(filter, true);
      this.addFilter(node, filter);
    }
    for (const filter of change.remove ?? []) {
      for (const during of reads) during.set(filter, false);
      this.removeFilter(node, filter);
    }
  }

  /**
   * Reads again the tables whose last read failed (called on each heartbeat). A peer's
   * table is read when it joins, and at our own join: a failed read (Redis failing over,
   * a command timed out) was not tried again, and the routes that peer had then were
   * missing here for good, while its later announcements were applied.
   */
  async readAgain(): Promise<void> {
    await Promise.all([...this.unread].map((nodeId) => this.resync(nodeId)));
  }

  /**
   * Reads a peer's whole table and makes its subscriptions here match it; false when it
   * could not be read (logged).
   */
  async resync(nodeId: number): Promise<boolean> {
    if (nodeId === this.selfId()) return true;
    const during = new Map<string, boolean>();
    let reads = this.reading.get(nodeId);
    if (reads === undefined) this.reading.set(nodeId, (reads = new Set()));
    reads.add(during);
    const departures = this.departures.get(nodeId) ?? 0;
    try {
      const filters = await this.redis.hkeys(this.keys.routes(nodeId));
      // It left while we read: what we read is its last table, its sessions are elsewhere.
      if ((this.departures.get(nodeId) ?? 0) !== departures) return true;
      this.unread.delete(nodeId);
      const node = this.nodeFor(nodeId);
      const wanted = new Set(filters.filter((filter) => this.validFilter(filter, nodeId)));
      for (const [filter, present] of during) {
        if (present) wanted.add(filter);
        else wanted.delete(filter);
      }
      for (const filter of [...node.filters])
        if (!wanted.has(filter)) this.removeFilter(node, filter);
      for (const filter of wanted) this.addFilter(node, filter);
      return true;
    } catch (err) {
      if ((this.departures.get(nodeId) ?? 0) === departures) this.unread.add(nodeId);
      this.logger.warn(
        { err: String(err), node: nodeId },
        'cluster: reading a route table failed (read again on the next heartbeat)',
      );
      return false;
    } finally {
      reads.delete(during);
      if (reads.size === 0 && this.reading.get(nodeId) === reads) this.reading.delete(nodeId);
    }
  }

  /** A peer left: its subscriptions leave the router. */
  drop(nodeId: number): void {
    this.departures.set(nodeId, (this.departures.get(nodeId) ?? 0) + 1);
    this.unread.delete(nodeId);
    const node = this.nodes.get(nodeId);
    if (node === undefined) return;
    for (const filter of node.filters) this.router.remove(node, filter);
    node.filters.clear();
    this.nodes.delete(nodeId);
    this.logger.info({ node: nodeId }, 'cluster: node left; its routes are removed');
  }

  /** Marks every peer reachable or not (Redis connection up or down). */
  setOnline(online: boolean): void {
    for (const node of this.nodes.values()) node.online = online;
  }

  private nodeFor(nodeId: number): RemoteNode {
    let node = this.nodes.get(nodeId);
    if (node === undefined) {
      node = new RemoteNode(nodeId, this.sink);
      this.nodes.set(nodeId, node);
    }
    return node;
  }

  /** A filter of a peer's table that is not one is skipped (counted, logged). */
  private validFilter(filter: string, nodeId: number): boolean {
    if (isValidTopicFilter(filter)) return true;
    this.malformed.note('routes', 'route table holds an invalid topic filter', {
      node: nodeId,
      filter: MalformedInput.sample(filter),
    });
    return false;
  }

  private addFilter(node: RemoteNode, filter: string): void {
    if (node.filters.has(filter)) return;
    node.filters.add(filter);
    this.router.add({
      subscriber: node,
      filter,
      // The node gets the message as published and applies its own subscribers' QoS,
      // Retain As Published and subscription identifiers.
      qos: 2,
      noLocal: false,
      retainAsPublished: true,
      retainHandling: 0,
      subscriptionId: undefined,
      shareGroup: parseSharedFilter(filter)?.group,
    });
  }

  private removeFilter(node: RemoteNode, filter: string): void {
    if (!node.filters.delete(filter)) return;
    this.router.remove(node, filter);
  }
}

/**
 * Parses a route announcement: a node id, and lists of valid topic filters.
 * @throws Error saying what is wrong with it.
 */
export function parseRouteAnnouncement(text: string): RouteAnnouncement {
  const m = parseJsonObject(text);
  const node = nodeIdField(m.node, 'node');
  if (m.left === true) return { node, left: true };
  if (m.resync === true) return { node, resync: true };
  const add = optionalStringList(m.add, 'add');
  const remove = optionalStringList(m.remove, 'remove');
  if (add === undefined && remove === undefined)
    throw new Error('neither add, remove, resync nor left');
  for (const filter of [...(add ?? []), ...(remove ?? [])]) {
    if (!isValidTopicFilter(filter))
      throw new Error(`invalid topic filter ${JSON.stringify(filter.slice(0, 100))}`);
  }
  return { node, add, remove };
}
