/**
 * The other nodes' route tables, applied to this node's router: each peer is one
 * RemoteNode subscriber, subscribed here to every filter of its table. Kept current by the
 * `routes` channel's announcements, and read whole (HGETALL) when a peer joins, announces a
 * resync, or our connection to Redis came back.
 */
import type { Redis } from 'ioredis';
import type { Router } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { parseSharedFilter } from '../topic/index.js';
import type { ClusterKeys } from './keys.js';
import type { RouteAnnouncement } from './local-routes.js';
import { type ForwardSink, RemoteNode } from './remote-node.js';

/** Peers as router subscribers. */
export class RemoteRoutes {
  private readonly nodes = new Map<number, RemoteNode>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly router: Router,
    private readonly sink: ForwardSink,
    private readonly logger: Logger,
    private readonly selfId: () => number,
  ) {}

  /** The peers known, with the filters they subscribe to. */
  get peers(): ReadonlyMap<number, RemoteNode> {
    return this.nodes;
  }

  /** Applies an announcement from the `routes` channel. */
  apply(text: string): void {
    let change: RouteAnnouncement;
    try {
      change = JSON.parse(text) as RouteAnnouncement;
    } catch {
      this.logger.warn({ text: text.slice(0, 200) }, 'cluster: malformed route announcement');
      return;
    }
    if (!Number.isInteger(change.node) || change.node === this.selfId()) return;
    if (change.left) {
      this.drop(change.node);
      return;
    }
    if (change.resync) {
      void this.resync(change.node);
      return;
    }
    const node = this.nodeFor(change.node);
    for (const filter of change.add ?? []) this.addFilter(node, filter);
    for (const filter of change.remove ?? []) this.removeFilter(node, filter);
  }

  /** Reads a peer's whole table and makes its subscriptions here match it. */
  async resync(nodeId: number): Promise<void> {
    if (nodeId === this.selfId()) return;
    try {
      const filters = await this.redis.hkeys(this.keys.routes(nodeId));
      const node = this.nodeFor(nodeId);
      const wanted = new Set(filters);
      for (const filter of [...node.filters])
        if (!wanted.has(filter)) this.removeFilter(node, filter);
      for (const filter of wanted) this.addFilter(node, filter);
    } catch (err) {
      this.logger.warn({ err: String(err), node: nodeId }, 'cluster: reading a route table failed');
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
