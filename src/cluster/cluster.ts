/**
 * A node of a Pipit cluster over Redis: membership (a lease per node), the route table at
 * node granularity (each peer one subscriber in the router), forwarding (batched per turn
 * to each node's inbox stream), and ownership of client ids with takeover across nodes.
 *
 * Three Redis connections: commands, pub/sub (route announcements and this node's control
 * channel: announcements.ts), and the inbox's blocking reader; a fourth, the QoS 0 channel's
 * subscriber (qos0-receiver.ts), with `qos0Channel` only. Redis going away crashes
 * nothing: commands wait or fail and are logged; when the pub/sub connection is subscribed
 * again (back, or moved to another Redis Cluster node), the node writes its route table
 * again and reads its peers' whole tables and the retained messages.
 *
 * The parts are made and wired in node-wiring.ts, started in node-start.ts and stopped in
 * node-stop.ts; this class is the node's API to the broker.
 */
import type { BrokerCore, SessionLoader } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { type ClusterStatus, clusterStatus } from './cluster-status.js';
import { drainPeer, letGoOfSessions, serverReference } from './drain-peers.js';
import { resyncNode, startNode } from './node-start.js';
import type { NodeStats, NodeSummary } from './node-stats.js';
import { closeConnections, leaveCluster } from './node-stop.js';
import { type NodeParts, wireNode } from './node-wiring.js';
import {
  type ClusterOptions,
  type ResolvedClusterOptions,
  resolveClusterOptions,
} from './options.js';

/** One node's part in the cluster. */
export class ClusterNode {
  readonly options: ResolvedClusterOptions;
  /** The node's parts, wired to one another (node-wiring.ts). */
  private readonly parts: NodeParts;
  /**
   * This node's summary for the others (`GET /nodes`), written on each heartbeat: the broker
   * sets what it knows of itself (`describeAs`); `draining` is true once a drain began.
   */
  readonly stats: NodeStats;
  private joined = false;
  /** The last connection error, for a precise reason when joining fails. */
  private lastError: string | undefined;

  /**
   * Wires the node to `core` (the router observer, the session loader before `next`, a
   * hook for connections); nothing talks to Redis before {@link start}.
   * @throws RangeError for a bad option.
   */
  constructor(
    private readonly core: BrokerCore,
    options: ClusterOptions,
    private readonly logger: Logger,
    next?: SessionLoader,
    /** `next`'s store is on this Redis: its fenced writes check owner keys (takeover.ts). */
    storeOnClusterRedis = false,
  ) {
    this.options = resolveClusterOptions(options);
    const callbacks = {
      joined: () => this.joined,
      error: (e: string) => {
        this.lastError = e;
      },
      resubscribed: () => this.resync(),
    };
    this.parts = wireNode(core, this.options, logger, callbacks, next, storeOnClusterRedis);
    this.stats = this.parts.stats;
  }

  /** This node's id (after start). */
  get nodeId(): number {
    return this.parts.membership.nodeId;
  }

  /**
   * Joins: claims a node id (the core numbers its messages with it), listens for route
   * announcements and control requests, writes this node's route table, reads the peers',
   * and starts reading the inbox.
   * @throws Error when Redis cannot be reached or the node id is taken.
   */
  async start(): Promise<void> {
    const { core, options, logger } = this;
    await startNode(this.parts, core, options, logger, () => this.lastError);
    this.joined = true;
    logger.info(
      { nodeId: this.nodeId, peers: [...this.parts.membership.peers] },
      'cluster: joined',
    );
  }

  /**
   * Which client ids live peers hold, for the core's start on a store the nodes share: their
   * sessions and wills stay in the store for their node (call after {@link start}).
   */
  async heldByPeers(): Promise<(clientId: string) => boolean> {
    const held = await this.parts.ownership.heldByPeers();
    return (clientId) => held.has(clientId);
  }

  /** The core restored its sessions (those no live peer holds): this node owns them now. */
  async claimRestored(): Promise<void> {
    const { ownership, membership, wills, recovery } = this.parts;
    const restored = await ownership.claimRestored(this.core.sessions.keys());
    // This node took the id of a dead node no survivor had removed: its inbox is ours to read.
    const { inherited, previousInstance } = membership;
    membership.inherited = undefined;
    wills.started();
    recovery.started(restored, this.nodeId, inherited, previousInstance);
  }

  /**
   * The `host:port` a live peer advertises (`cluster.advertise`), for a draining node's Server
   * Reference; undefined when no live peer advertises one.
   */
  serverReference(): Promise<string | undefined> {
    const { commands, keys, membership } = this.parts;
    return serverReference(commands, keys, membership.peers);
  }

  /**
   * Lets go of every session this node holds (drain: drain-peers.ts) to `peer`, or to the
   * next live peer if it dies meanwhile; returns how many.
   */
  letGoOfSessions(peer: number | undefined): Promise<number> {
    const { membership, ownership } = this.parts;
    membership.draining = true; // dead peers are left to the nodes that stay
    const nextPeer = (tried: ReadonlySet<number>) =>
      [...membership.peers].filter((p) => !tried.has(p)).sort((x, y) => x - y)[0];
    return letGoOfSessions(this.core, ownership, peer, nextPeer);
  }

  /** The live peer a draining node hands its sessions to: the one it refers clients to, else the lowest id. */
  drainPeer(reference: string | undefined): Promise<number | undefined> {
    const { commands, keys, membership } = this.parts;
    return drainPeer(commands, keys, membership.peers, reference);
  }

  /** Leaves: stops reading, removes this node's lease, routes and inbox, closes Redis (bounded). */
  async stop(): Promise<void> {
    if (this.joined) {
      this.joined = false;
      await leaveCluster(this.parts, this.logger);
    }
    closeConnections(this.parts);
  }

  /** Marks this node draining and publishes that at once (the drain's first step). */
  markDraining(): Promise<void> {
    return this.stats.markDraining(this.nodeId);
  }

  /**
   * The live peers (as of the last heartbeat) by id, each with the summary it published
   * (undefined when missing: it just joined, or its key is gone).
   */
  peerSummaries(): Promise<{ nodeId: number; summary?: NodeSummary | undefined }[]> {
    return this.stats.read(this.parts.membership.peers);
  }

  /** The peers and counters as this node sees them. */
  status(): ClusterStatus {
    const { remoteRoutes, outbox, inbox, orphans, ownership, commands, retained } = this.parts;
    const { nodeId, peers: livePeers } = this.parts.membership;
    const parts = { remoteRoutes, outbox, inbox, orphans, ownership, commands, retained };
    const { malformed, replicas, qos0 } = this.parts;
    return clusterStatus({ ...parts, nodeId, livePeers, malformed, replicas, qos0 });
  }

  /** The pub/sub connection is subscribed again: resync (node-start.ts) once joined. */
  private async resync(): Promise<boolean> {
    if (!this.joined) return true;
    return resyncNode(this.parts);
  }
}
