/** What a cluster node reports of itself (`ClusterNode.status()`). */
import type { InboxCounters } from './inbox.js';
import type { MalformedCounters } from './malformed.js';
import type { OrphanCounters } from './orphan-reader.js';
import type { OutboxCounters } from './outbox.js';
import type { RetainedSync } from './retained-sync.js';
import type { MoveCounters } from './session-move.js';

/** What a node reports of the cluster (tests, the admin API). */
export interface ClusterStatus {
  readonly nodeId: number;
  /** Peers with their filters, as this node's router has them. */
  readonly peers: { nodeId: number; filters: string[] }[];
  /** The peers whose lease this node saw current at its last heartbeat (sorted). */
  readonly livePeers: number[];
  readonly outbox: Readonly<OutboxCounters>;
  readonly inbox: Readonly<InboxCounters>;
  /** Dead nodes' inboxes read here, and the messages delivered from them to adopted sessions. */
  readonly orphans: Readonly<OrphanCounters>;
  /** Clients refused with 0x88 because Redis was unreachable. */
  readonly refusedUnreachable: number;
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
}
