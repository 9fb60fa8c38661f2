/**
 * The construction of a cluster node's parts and how they call one another, for
 * ClusterNode (cluster.ts): its connections, routes, forwarding, membership, ownership,
 * recovery, wills, stats and retained sync, and their wiring into the broker core (the
 * router observer, the session loader, a hook for connections). Nothing here talks to Redis:
 * that begins with the node's start (node-start.ts).
 */
import { randomUUID } from 'node:crypto';
import type { BrokerCore, Hook, SessionLoader } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { restoreAdoptedWills } from './adopted-wills.js';
import { Announcements } from './announcements.js';
import { DeadNodeRecovery } from './dead-node-recovery.js';
import { handedOverWills } from './drain-wills.js';
import type { Inbox } from './inbox.js';
import { ClusterKeys } from './keys.js';
import { LocalRoutes } from './local-routes.js';
import { MalformedInput } from './malformed.js';
import { Membership } from './membership.js';
import { NodeStats } from './node-stats.js';
import { NodeWills } from './node-wills.js';
import type { ResolvedClusterOptions } from './options.js';
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
import { ClientOwnership } from './takeover.js';

/** A cluster node's parts, wired to one another and to the core by {@link wireNode}. */
export interface NodeParts {
  /** This process's instance of its node id (its inbox position and recoveries are per instance). */
  readonly instance: string;
  readonly keys: ClusterKeys;
  readonly commands: RedisClient;
  readonly announcements: Announcements;
  /** The inbox's blocking reader's connection. */
  readonly reader: RedisClient;
  readonly membership: Membership;
  readonly outbox: Outbox;
  /** `cluster.wait`: the replicas the acknowledged writes must reach (undefined: none). */
  readonly replicas: ReplicaWait | undefined;
  readonly localRoutes: LocalRoutes;
  readonly remoteRoutes: RemoteRoutes;
  /** Made on start (node-start.ts), once the node id is known. */
  inbox: Inbox | undefined;
  /** The QoS 0 channel's subscriber (undefined without `qos0Channel`: QoS 0 uses the inbox). */
  readonly qos0: Qos0Receiver | undefined;
  readonly malformed: MalformedInput;
  readonly ownership: ClientOwnership;
  /** Reads dead nodes' inboxes (undefined without a store the nodes share: nothing adopted). */
  readonly orphans: OrphanReader | undefined;
  /** Where stand-ins' parked messages start in the inbox (committed with its position). */
  readonly parked: ParkedPosition;
  readonly recovery: DeadNodeRecovery;
  readonly wills: NodeWills;
  /** This node's summary for the others (`GET /nodes`), written on each heartbeat. */
  readonly stats: NodeStats;
  /** Retained messages in step with the other nodes' (with a store: the shared one). */
  readonly retained: RetainedSync | undefined;
}

/** What the parts ask of the node that holds them; called only once Redis is connected. */
export interface NodeCallbacks {
  /** Whether the node has joined (and not begun to stop). */
  joined(): boolean;
  /** A connection's error: the last one is the reason given when joining fails. */
  error(message: string): void;
  /**
   * The pub/sub connection is subscribed again: resync both ways (node-start.ts); false when
   * the peers' tables could not be read.
   */
  resubscribed(): Promise<boolean>;
}

/**
 * Makes the node's parts and wires them to one another and to `core` (the router observer,
 * the session loader before `next`, a hook for connections); nothing talks to Redis yet.
 * `storeOnClusterRedis`: `next`'s store is on this Redis, its fenced writes check owner keys
 * (takeover.ts).
 */
export function wireNode(
  core: BrokerCore,
  options: ResolvedClusterOptions,
  logger: Logger,
  node: NodeCallbacks,
  next: SessionLoader | undefined,
  storeOnClusterRedis: boolean,
): NodeParts {
  const instance = randomUUID();
  const keys = new ClusterKeys(options.keyPrefix);
  const malformed = new MalformedInput(logger);
  const connect = (role: string, ready?: () => unknown): RedisClient =>
    connectNode(options, role, logger, {
      error: (e) => node.error(e),
      ready: () => void ready?.(),
    });
  const nodeId = () => membership.nodeId;
  // Back after an outage: a failover may have lost owner keys of sessions held here.
  const commands = connect('commands', () => node.joined() && ownership.checkOwnerKeys());
  const announcements = new Announcements(options, keys, logger, {
    routes: (text) => remoteRoutes.apply(text),
    retained: (text) => retained?.apply(text),
    control: (text) => ownership.onControl(text),
    error: (e) => node.error(e),
    lost: () => remoteRoutes.setOnline(false),
    up: () => remoteRoutes.setOnline(true),
    resubscribed: () => node.resubscribed(),
  });
  const reader = connect('inbox');
  // Acknowledgements wait for the forwards and route changes their step made, as for the
  // store's writes (with a store: without one, nothing waits for it either).
  const persistence = core.persistence;
  const noteWrite = persistence ? () => persistence.noteWrite() : undefined;
  const replicas = replicaWait(
    options.wait,
    commands,
    logger,
    persistence !== undefined,
    options.keyPrefix,
  );
  const { inboxMaxLength } = options;
  const outbox = new Outbox(commands, keys, logger, noteWrite, replicas, inboxMaxLength);
  // QoS 0 forwards on per-node channels (qos0-receiver.ts) only when asked: they then keep
  // their order per topic and QoS only, not with QoS 1/2 (refused on a Redis Cluster).
  let qos0: Qos0Receiver | undefined;
  if (options.qos0Channel) {
    outbox.qos0Channel = true;
    qos0 = new Qos0Receiver(options, core.pipeline, outbox, logger, malformed);
  }
  const localRoutes = new LocalRoutes(commands, keys, logger, noteWrite, replicas);
  persistence?.join(outbox);
  persistence?.join(localRoutes);
  const remoteRoutes = new RemoteRoutes(
    commands,
    keys,
    core.router,
    outbox,
    logger,
    nodeId,
    malformed,
  );
  // A dead node's unread inbox is read for its sessions where they are shared and adopted.
  const cursors = persistence?.store.cursors;
  const orphans =
    cursors && next
      ? new OrphanReader(core, commands, cursors, outbox, logger, malformed)
      : undefined;
  const membership = new Membership(
    commands,
    keys,
    options,
    instance,
    logger,
    {
      joined: (peer) => void remoteRoutes.resync(peer),
      left: (peer) => remoteRoutes.drop(peer),
      // Redis lost its data: the owner keys too (owner-keys-check.ts).
      restored: () => void Promise.all([localRoutes.republish(), ownership.checkOwnerKeys()]),
      orphaned: (peer, peerWills) => wills.adopt(peer, peerWills),
      removed: (peer, orphan, peerInstance) => void recovery.recover(peer, orphan, peerInstance),
      beat: () => {
        void stats.publish(nodeId());
        void remoteRoutes.readAgain(); // the peers' tables whose read failed
      },
    },
    orphans !== undefined,
  );
  const stats = new NodeStats(core, commands, keys, options.leaseMs, options.advertise, logger);
  const wills = new NodeWills(core, commands, keys, logger, nodeId, replicas);
  const identity = nodeIdentity(commands, keys, instance, nodeId, () => membership.peers);
  const parked = new ParkedPosition();
  const ownership = new ClientOwnership(
    core,
    commands,
    keys,
    identity,
    options.leaseMs,
    logger,
    next,
    malformed,
    {
      outbox,
      // Parked messages need a store the nodes share (the session is read from it).
      arrivals: next && new SessionArrivals(core, logger, () => localRoutes.commit(), parked),
    },
    replicas,
    storeOnClusterRedis,
  );
  ownership.handedOver = handedOverWills(core, commands, keys, wills, nodeId, logger);
  /** Takes over the recoveries a dead `recoverer` was running (recovery-takeover.ts). */
  const takeOver = async (recoverer: string): Promise<TakenOverRecovery[]> => {
    const self = `${nodeId()}/${instance}`;
    const ttlMs = membership.orphanTtlMs;
    const taken = await takeOverRecoveries(commands, keys, recoverer, self, ttlMs);
    if (orphans !== undefined) orphans.counters.takenOver += taken.length;
    return taken;
  };
  const recovery = new DeadNodeRecovery(
    commands,
    keys,
    identity,
    ownership,
    orphans,
    logger,
    async () => {
      await Promise.all([persistence?.store.commit(), localRoutes.commit()]);
    },
    (peer) => membership.announceLeft(peer),
    (peer, peerInstance) => membership.recovered(peer, peerInstance),
    { takeOver, ttlMs: membership.orphanTtlMs },
    (clientIds) => restoreAdoptedWills(core, clientIds, logger),
  );
  const retained = persistence
    ? new RetainedSync(core, persistence.store, commands, keys, logger, nodeId, malformed)
    : undefined;
  core.router.observe(localRoutes);
  core.registry.loadWith(ownership);
  core.addHook(connectionHook(ownership, wills));
  return {
    instance,
    keys,
    commands,
    announcements,
    reader,
    membership,
    outbox,
    replicas,
    localRoutes,
    remoteRoutes,
    inbox: undefined,
    qos0,
    malformed,
    ownership,
    orphans,
    parked,
    recovery,
    wills,
    stats,
    retained,
  };
}

/** Tells ownership and wills of each client that connects and disconnects here. */
function connectionHook(ownership: ClientOwnership, wills: NodeWills): Hook {
  return {
    name: 'cluster',
    onConnected: (client) => {
      ownership.connected(client.clientId);
      wills.connected(client);
    },
    onDisconnected: (client) => {
      ownership.disconnected(client.clientId);
      wills.disconnected(client.clientId);
    },
  };
}
