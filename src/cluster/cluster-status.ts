/** What a cluster node reports of itself (`ClusterNode.status()`), read from its parts. */
import type { RedisClient } from '../redis/redis-client.js';
import type { Inbox, InboxCounters } from './inbox.js';
import type { MalformedCounters, MalformedInput } from './malformed.js';
import type { OrphanCounters, OrphanReader } from './orphan-reader.js';
import type { Outbox } from './outbox.js';
import type { OutboxCounters } from './outbox-counters.js';
import type { OwnerKeyCounters } from './owner-keys-check.js';
import type { Qos0Receiver, Qos0ReceiverCounters } from './qos0-receiver.js';
import type { RemoteRoutes } from './remote-routes.js';
import type { ReplicaWait, ReplicaWaitCounters } from './replica-wait.js';
import type { RetainedSync } from './retained-sync.js';
import type { MoveCounters } from './session-move.js';
import type { ClientOwnership } from './takeover.js';

/** What a node reports of the cluster (tests, the admin API). */
export interface ClusterStatus {
  readonly nodeId: number;
  /** Peers with their filters, as this node's router has them. */
  readonly peers: { nodeId: number; filters: string[] }[];
  /** The peers whose lease this node saw current at its last heartbeat (sorted). */
  readonly livePeers: number[];
  readonly outbox: Readonly<OutboxCounters>;
  readonly inbox: Readonly<InboxCounters>;
  /**
   * QoS 0 messages received on this node's QoS 0 channel, batches skipped as malformed, and
   * times its connection was lost (undefined without `cluster.qos0Channel`: QoS 0 goes by
   * the inbox).
   * What this node sent is in `outbox` (`qos0Published`, `qos0Unheard`).
   */
  readonly qos0: Readonly<Qos0ReceiverCounters> | undefined;
  /** Dead nodes' inboxes read here, and the messages delivered from them to adopted sessions. */
  readonly orphans: Readonly<OrphanCounters>;
  /** Clients refused with 0x88 because Redis was unreachable. */
  readonly refusedUnreachable: number;
  /** Clients refused with 0x88 because too few replicas had their owner key in time (`cluster.wait`). */
  readonly refusedNotReplicated: number;
  /** The command connection's state (`ready` when Redis answers). */
  readonly redis: string;
  /**
   * Retained messages kept in step with the shared store: announcements sent and heard, full
   * reloads (undefined without a store: each node keeps its own).
   */
  readonly retained: Readonly<RetainedSync['counters']> | undefined;
  /**
   * What this node read from Redis and skipped as malformed, per kind: inbox entries, route
   * announcements (and invalid filters of route tables), control messages, retained
   * announcements (each logged, throttled).
   */
  readonly malformed: Readonly<MalformedCounters>;
  /**
   * Sessions moved here from live peers (session-move.ts): arrivals, the messages parked
   * for them and delivered, those they had already, those dropped (a move that failed), and
   * route barriers that timed out on this node.
   */
  readonly moves: Readonly<MoveCounters>;
  /**
   * This node's owner keys checked after its Redis connection came back (owner-keys-check.ts):
   * checks run, keys found gone and written back, sessions let go of because their key named
   * another node.
   */
  readonly ownerKeys: Readonly<OwnerKeyCounters>;
  /**
   * `cluster.wait`: the `WAIT` commands sent after the writes acknowledgements stand behind,
   * and those answered with fewer replicas than asked (undefined without `cluster.wait`).
   */
  readonly replicaWait: Readonly<ReplicaWaitCounters> | undefined;
}

/** The parts of a node its status is read from. */
export interface StatusParts {
  readonly nodeId: number;
  /** The live peers as of the last heartbeat. */
  readonly livePeers: ReadonlySet<number>;
  readonly remoteRoutes: RemoteRoutes;
  readonly outbox: Outbox;
  readonly inbox: Inbox | undefined;
  readonly orphans: OrphanReader | undefined;
  readonly ownership: ClientOwnership;
  readonly commands: RedisClient;
  readonly retained: RetainedSync | undefined;
  readonly malformed: MalformedInput;
  readonly replicas: ReplicaWait | undefined;
  readonly qos0: Qos0Receiver | undefined;
}

/** The peers and counters as the node of `parts` sees them (copies: later counts change nothing). */
export function clusterStatus(parts: StatusParts): ClusterStatus {
  const { remoteRoutes, outbox, inbox, orphans, ownership, retained } = parts;
  return {
    nodeId: parts.nodeId,
    peers: [...remoteRoutes.peers.values()].map((node) => ({
      nodeId: node.nodeId,
      filters: [...node.filters].sort(),
    })),
    livePeers: [...parts.livePeers].sort((x, y) => x - y),
    outbox: { ...outbox.counters },
    inbox: {
      ...(inbox?.counters ?? {
        received: 0,
        malformed: 0,
        trimmedUnread: 0,
        trimmedParked: 0,
        resent: 0,
      }),
    },
    orphans: {
      ...(orphans?.counters ?? {
        inboxes: 0,
        messages: 0,
        takenOver: 0,
        duplicates: 0,
        trimmed: 0,
        resent: 0,
      }),
    },
    refusedUnreachable: ownership.refusedUnreachable,
    refusedNotReplicated: ownership.refusedNotReplicated,
    redis: parts.commands.status,
    retained: retained ? { ...retained.counters } : undefined,
    malformed: { ...parts.malformed.counters },
    moves: ownership.moves.status(),
    ownerKeys: { ...ownership.ownerKeyCounters },
    replicaWait: parts.replicas ? { ...parts.replicas.counters } : undefined,
    qos0: parts.qos0 ? { ...parts.qos0.counters } : undefined,
  };
}
