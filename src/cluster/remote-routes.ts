/**
 * The other nodes' route tables, applied to this node's router: each peer is one
 * RemoteNode subscriber, subscribed here to every filter of its table. Kept current by the
 * `routes` channel's announcements, and read whole (HGETALL) when a peer joins, announces a
 * resync, or our connection to Redis came back.
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
   * Per peer whose table is being read: the filters its announcements added (true) or
   * removed (false) meanwhile. The table read may be older than them (the read and the
   * announcements travel on different connections): they win over it.
   */
  private readonly reading = new Map<number, Map<string, boolean>>();

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
    const during = this.reading.get(change.node);
    for (const filter of change.add ?? []) {
      during?.set(filter, true);
      this.addFilter(node, filter);
    }
    for (const filter of change.remove ?? []) {
      during?.set(filter, false);
      this.removeFilter(node, filter);
    }
  }

  /**
   * Reads a peer's whole table and makes its subscriptions here match it; false when it
   * could not be read (logged).
   */
  async resync(nodeId: number): Promise<boolean> {
    if (nodeId === this.selfId()) return true;
    const during = new Map<string, boolean>();
    this.reading.set(nodeId, during);
    try {
      const filters = await this.redis.hkeys(this.keys.routes(nodeId));
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
      this.logger.warn({ err: String(err), node: nodeId }, 'cluster: reading a route table failed');
      return false;
    } finally {
      if (this.reading.get(nodeId) === during) this.reading.delete(nodeId);
    }
  }

  /** A peer left: its subscriptions leave the router. */
  drop(nodeId: number): void {
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
