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
 */
import { randomUUID } from 'node:crypto';
import type { BrokerCore, Hook, SessionLoader } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { restoreAdoptedWills } from './adopted-wills.js';
import { Announcements } from './announcements.js';
import { type ClusterStatus, clusterStatus } from './cluster-status.js';
import { DeadNodeRecovery } from './dead-node-recovery.js';
import { drainPeer, letGoOfSessions, serverReference } from './drain-peers.js';
import { handedOverWills } from './drain-wills.js';
import { Inbox } from './inbox.js';
import { ClusterKeys } from './keys.js';
import { LocalRoutes } from './local-routes.js';
import { MalformedInput } from './malformed.js';
import { Membership } from './membership.js';
import { MessageIdBlocks } from './message-id-blocks.js';
import { NodeStats, type NodeSummary } from './node-stats.js';
import { NodeWills } from './node-wills.js';
import {
  type ClusterOptions,
  type ResolvedClusterOptions,
  resolveClusterOptions,
} from './options.js';
import { OrphanReader } from './orphan-reader.js';
import { Outbox } from './outbox.js';
import { nodeIdentity } from './owners.js';
import { ParkedPosition } from './parked-position.js';
import { Qos0Receiver } from './qos0-receiver.js';
import { type TakenOverRecovery, takeOverRecoveries } from './recovery-takeover.js';
import { connectNode } from './redis-connection.js';
import { RemoteRoutes } from './remote-routes.js';
import { type ReplicaWait, replicaWait } from './replica-wait.js';
import { RetainedSync } from './retained-sync.js';
import { SessionArrivals } from './session-arrival.js';
import { stopWithin } from './stop-within.js';
import { ClientOwnership } from './takeover.js';

/** One node's part in the cluster. */
export class ClusterNode {
  readonly options: ResolvedClusterOptions;
  private readonly instance = randomUUID();
  private readonly keys: ClusterKeys;
  private readonly commands: RedisClient;
  private readonly announcements: Announcements;
  private readonly reader: RedisClient;
  private readonly membership: Membership;
  private readonly outbox: Outbox;
  /** `cluster.wait`: the replicas the acknowledged writes must reach (undefined: none). */
  private readonly replicas: ReplicaWait | undefined;
  private readonly localRoutes: LocalRoutes;
  private readonly remoteRoutes: RemoteRoutes;
  private inbox: Inbox | undefined;
  /** The QoS 0 channel's subscriber (undefined without `qos0Channel`: QoS 0 uses the inbox). */
  private readonly qos0: Qos0Receiver | undefined;
  private readonly malformed: MalformedInput;
  private readonly ownership: ClientOwnership;
  /** Reads dead nodes' inboxes (undefined without a store the nodes share: nothing adopted). */
  private readonly orphans: OrphanReader | undefined;
  /** Where stand-ins' parked messages start in the inbox (committed with its position). */
  private readonly parked = new ParkedPosition();
  private readonly recovery: DeadNodeRecovery;
  private readonly wills: NodeWills;
  /**
   * This node's summary for the others (`GET /nodes`), written on each heartbeat: the broker
   * sets what it knows of itself (`describeAs`); `draining` is true once a drain began.
   */
  readonly stats: NodeStats;
  /** Retained messages in step with the other nodes' (with a store: the shared one). */
  private readonly retained: RetainedSync | undefined;
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
    this.keys = new ClusterKeys(this.options.keyPrefix);
    this.malformed = new MalformedInput(logger);
    // Back after an outage: a failover may have lost owner keys of sessions held here.
    this.commands = this.connect('commands', () => this.joined && this.ownership.checkOwnerKeys());
    this.announcements = new Announcements(this.options, this.keys, logger, {
      routes: (text) => this.remoteRoutes.apply(text),
      retained: (text) => this.retained?.apply(text),
      control: (text) => this.ownership.onControl(text),
      error: (e) => (this.lastError = e),
      lost: () => this.remoteRoutes.setOnline(false),
      up: () => this.remoteRoutes.setOnline(true),
      resubscribed: () => this.resync(),
    });
    this.reader = this.connect('inbox');
    // Acknowledgements wait for the forwards and route changes their step made, as for the
    // store's writes (with a store: without one, nothing waits for it either).
    const persistence = core.persistence;
    const noteWrite = persistence ? () => persistence.noteWrite() : undefined;
    this.replicas = replicaWait(
      this.options.wait,
      this.commands,
      logger,
      persistence !== undefined,
      this.options.keyPrefix,
    );
    const { replicas } = this;
    const { inboxMaxLength } = this.options;
    this.outbox = new Outbox(this.commands, this.keys, logger, noteWrite, replicas, inboxMaxLength);
    // QoS 0 forwards on per-node channels (qos0-receiver.ts) only when asked: they then keep
    // their order per topic and QoS only, not with QoS 1/2 (refused on a Redis Cluster).
    if (this.options.qos0Channel) {
      this.outbox.qos0Channel = true;
      this.qos0 = new Qos0Receiver(
        this.options,
        core.pipeline,
        this.outbox,
        logger,
        this.malformed,
      );
    }
    this.localRoutes = new LocalRoutes(this.commands, this.keys, logger, noteWrite, replicas);
    persistence?.join(this.outbox);
    persistence?.join(this.localRoutes);
    this.remoteRoutes = new RemoteRoutes(
      this.commands,
      this.keys,
      core.router,
      this.outbox,
      logger,
      () => this.membership.nodeId,
      this.malformed,
    );
    // A dead node's unread inbox is read for its sessions where they are shared and adopted.
    const cursors = persistence?.store.cursors;
    this.orphans =
      cursors && next
        ? new OrphanReader(core, this.commands, cursors, this.outbox, logger, this.malformed)
        : undefined;
    this.membership = new Membership(
      this.commands,
      this.keys,
      this.options,
      this.instance,
      logger,
      {
        joined: (node) => void this.remoteRoutes.resync(node),
        left: (node) => this.remoteRoutes.drop(node),
        // Redis lost its data: the owner keys too (owner-keys-check.ts).
        restored: () =>
          void Promise.all([this.localRoutes.republish(), this.ownership.checkOwnerKeys()]),
        orphaned: (node, wills) => this.wills.adopt(node, wills),
        removed: (node, orphan, instance) => void this.recovery.recover(node, orphan, instance),
        beat: () => {
          void this.stats.publish(this.nodeId);
          void this.remoteRoutes.readAgain(); // the peers' tables whose read failed
        },
      },
      this.orphans !== undefined,
    );
    this.stats = new NodeStats(
      core,
      this.commands,
      this.keys,
      this.options.leaseMs,
      this.options.advertise,
      logger,
    );
    this.wills = new NodeWills(core, this.commands, this.keys, logger, () => this.nodeId, replicas);
    const identity = nodeIdentity(this.commands, this.keys, this.instance, () => this.nodeId);
    this.ownership = new ClientOwnership(
      core,
      this.commands,
      this.keys,
      identity,
      this.options.leaseMs,
      logger,
      next,
      this.malformed,
      {
        outbox: this.outbox,
        // Parked messages need a store the nodes share (the session is read from it).
        arrivals:
          next && new SessionArrivals(core, logger, () => this.localRoutes.commit(), this.parked),
      },
      replicas,
      storeOnClusterRedis,
    );
    const self = () => this.nodeId;
    const { commands, keys, wills } = this;
    this.ownership.handedOver = handedOverWills(core, commands, keys, wills, self, logger);
    this.recovery = new DeadNodeRecovery(
      this.commands,
      this.keys,
      identity,
      this.ownership,
      this.orphans,
      logger,
      async () => {
        await Promise.all([persistence?.store.commit(), this.localRoutes.commit()]);
      },
      (node) => this.membership.announceLeft(node),
      (node, instance) => this.membership.recovered(node, instance),
      {
        takeOver: (recoverer) => this.takeOverRecoveries(recoverer),
        ttlMs: this.membership.orphanTtlMs,
      },
      (clientIds) => restoreAdoptedWills(core, clientIds, logger),
    );
    this.retained = persistence
      ? new RetainedSync(
          core,
          persistence.store,
          this.commands,
          this.keys,
          logger,
          () => this.nodeId,
          this.malformed,
        )
      : undefined;
    core.router.observe(this.localRoutes);
    core.registry.loadWith(this.ownership);
    core.addHook(this.hook());
  }

  /** This node's id (after start). */
  get nodeId(): number {
    return this.membership.nodeId;
  }

  /**
   * Joins: claims a node id (the core numbers its messages with it), listens for route
   * announcements and control requests, writes this node's route table, reads the peers',
   * and starts reading the inbox.
   * @throws Error when Redis cannot be reached or the node id is taken.
   */
  async start(): Promise<void> {
    try {
      await Promise.all([
        this.commands.connect(),
        this.announcements.redis.connect(),
        this.reader.connect(),
      ]);
    } catch (err) {
      // ioredis rejects with "Connection is closed"; the socket's error says why.
      throw new Error(this.lastError ?? (err as Error).message);
    }
    const nodeId = await this.membership.join();
    const { commands, keys, logger } = this;
    await new MessageIdBlocks(commands, keys, this.core.messageIds, logger).start(nodeId);
    await this.announcements.listen(nodeId);
    // Subscribed before this node's routes are announced: peers forward only after that.
    await this.qos0?.start(this.keys.qos0(nodeId));
    await this.localRoutes.announceAs(nodeId);
    // Read after subscribing, those of dead nodes under recovery too (membership.ts); a read
    // that fails is tried again on each heartbeat (remote-routes.ts).
    const peers = [...this.membership.peers, ...this.membership.departingPeers];
    await Promise.all(peers.map((peer) => this.remoteRoutes.resync(peer)));
    const cursors = this.orphans ? this.core.persistence?.store.cursors : undefined;
    this.inbox = new Inbox(
      this.reader,
      this.keys.inbox(nodeId),
      this.core.pipeline,
      this.outbox,
      this.logger,
      this.malformed,
      cursors && {
        cursors,
        name: ClusterKeys.inboxCursor(this.instance),
        commands: this.commands,
        mutations: () => this.core.persistence?.mutations ?? 0,
        parked: this.parked,
        maxLength: this.options.inboxMaxLength,
      },
    );
    this.inbox.onMarker = (marker) => this.ownership.moves.barriers.onMarker(marker);
    const { qos0 } = this;
    if (qos0 !== undefined) this.ownership.moves.barriers.drainQos0 = (ms) => qos0.drain(ms);
    this.inbox.start();
    if (this.options.advertise !== undefined) {
      await this.commands.hset(this.keys.addresses, String(nodeId), this.options.advertise);
    }
    await this.stats.publish(nodeId);
    this.joined = true;
    this.logger.info({ nodeId, peers: [...this.membership.peers] }, 'cluster: joined');
  }

  /**
   * Which client ids live peers hold, for the core's start on a store the nodes share: their
   * sessions and wills stay in the store for their node (call after {@link start}).
   */
  async heldByPeers(): Promise<(clientId: string) => boolean> {
    const held = await this.ownership.heldByPeers();
    return (clientId) => held.has(clientId);
  }

  /** The core restored its sessions (those no live peer holds): this node owns them now. */
  async claimRestored(): Promise<void> {
    const restored = await this.ownership.claimRestored(this.core.sessions.keys());
    // This node took the id of a dead node no survivor had removed: its inbox is ours to read.
    const { inherited, previousInstance } = this.membership;
    this.membership.inherited = undefined;
    this.wills.started();
    this.recovery.started(restored, this.nodeId, inherited, previousInstance);
  }

  /**
   * The `host:port` a live peer advertises (`cluster.advertise`), for a draining node's Server
   * Reference; undefined when no live peer advertises one.
   */
  serverReference(): Promise<string | undefined> {
    return serverReference(this.commands, this.keys, this.membership.peers);
  }

  /**
   * Lets go of every session this node holds (drain: drain-peers.ts) to `peer`, or to the
   * next live peer if it dies meanwhile; returns how many.
   */
  letGoOfSessions(peer: number | undefined): Promise<number> {
    this.membership.draining = true; // dead peers are left to the nodes that stay
    const nextPeer = (tried: ReadonlySet<number>) =>
      [...this.membership.peers].filter((p) => !tried.has(p)).sort((x, y) => x - y)[0];
    return letGoOfSessions(this.core, this.ownership, peer, nextPeer);
  }

  /** The live peer a draining node hands its sessions to: the one it refers clients to, else the lowest id. */
  drainPeer(reference: string | undefined): Promise<number | undefined> {
    return drainPeer(this.commands, this.keys, this.membership.peers, reference);
  }

  /** Leaves: stops reading, removes this node's lease, routes and inbox, closes Redis (bounded). */
  async stop(): Promise<void> {
    if (this.joined) {
      this.joined = false;
      this.localRoutes.stop();
      await stopWithin(this.logger, 'the inbox reader', () => this.inbox?.stop());
      try {
        await stopWithin(this.logger, 'leaving (address, summary, lease)', async () => {
          await this.commands.hdel(this.keys.addresses, String(this.nodeId));
          await this.stats.remove(this.nodeId);
          await this.membership.leave();
        });
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'cluster: leaving failed (Redis unreachable?)');
      }
    }
    this.commands.disconnect();
    this.announcements.stop();
    this.qos0?.stop();
    this.reader.disconnect();
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
    return this.stats.read(this.membership.peers);
  }

  /** The peers and counters as this node sees them. */
  status(): ClusterStatus {
    const { remoteRoutes, outbox, inbox, orphans, ownership, commands, retained } = this;
    const { nodeId, peers: livePeers } = this.membership;
    const parts = { remoteRoutes, outbox, inbox, orphans, ownership, commands, retained };
    const { malformed, replicas, qos0 } = this;
    return clusterStatus({ ...parts, nodeId, livePeers, malformed, replicas, qos0 });
  }

  /** Takes over the recoveries a dead `recoverer` was running (recovery-takeover.ts). */
  private async takeOverRecoveries(recoverer: string): Promise<TakenOverRecovery[]> {
    const self = `${this.nodeId}/${this.instance}`;
    const ttlMs = this.membership.orphanTtlMs;
    const taken = await takeOverRecoveries(this.commands, this.keys, recoverer, self, ttlMs);
    if (this.orphans !== undefined) this.orphans.counters.takenOver += taken.length;
    return taken;
  }

  private connect(role: string, ready?: () => unknown): RedisClient {
    const error = (e: string) => (this.lastError = e);
    return connectNode(this.options, role, this.logger, { error, ready: () => void ready?.() });
  }

  /**
   * The pub/sub connection is subscribed again (back, or moved to another Redis Cluster
   * node): announcements may have been missed, resync both ways. False when the peers'
   * tables could not be read (the slot's master fails over): then nothing else was tried.
   */
  private async resync(): Promise<boolean> {
    if (!this.joined) return true;
    const peers = [...this.membership.peers, ...this.membership.departingPeers];
    if ((await Promise.all(peers.map((p) => this.remoteRoutes.resync(p)))).includes(false)) {
      return false;
    }
    void this.localRoutes.republish().catch(() => {});
    void this.retained?.reload();
    return true;
  }

  private hook(): Hook {
    return {
      name: 'cluster',
      onConnected: (client) => {
        this.ownership.connected(client.clientId);
        this.wills.connected(client);
      },
      onDisconnected: (client) => {
        this.ownership.disconnected(client.clientId);
        this.wills.disconnected(client.clientId);
      },
    };
  }
}
