/** A Pipit cluster over Redis: membership, routes at node granularity, forwarding, takeover. */
export { ClusterNode } from './cluster.js';
export type { ClusterStatus } from './cluster-status.js';
export type { NodeSelf, NodeState, NodeSummary } from './node-stats.js';
export {
  type ClusterOptions,
  DEFAULT_LEASE_MS,
  type RedisHostPort,
  resolveClusterOptions,
} from './options.js';
