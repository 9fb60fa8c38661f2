/**
 * `cluster.wait` (docs/cluster.md): what the rest of the `cluster:` section rules out. The
 * same checks as the embedded options' (src/cluster/options.ts), worded for the file
 * (seconds, not ms).
 */

/** The `cluster:` keys the checks read (already valid on their own). */
interface ClusterSection {
  wait?: { replicas: number; timeout?: number | undefined } | undefined;
  leaseMs?: number | undefined;
  heartbeatMs?: number | undefined;
}

/** Default of cluster.wait.timeout, in seconds (the Redis store's too). */
const DEFAULT_TIMEOUT_S = 1;

/**
 * A `wait` timeout that leaves the heartbeats no room within the lease (a WAIT holds the
 * command connection the heartbeats go on). On a Redis Cluster (`nodes`) too: there the
 * WAIT goes to the master of the prefix's hash slot (src/redis/slot-wait.ts).
 */
export function clusterWaitProblems(c: ClusterSection): { path: string[]; message: string }[] {
  const wait = c.wait;
  if (wait === undefined) return [];
  const leaseMs = c.leaseMs ?? 10_000;
  const heartbeatMs = c.heartbeatMs ?? Math.floor(leaseMs / 4);
  const timeoutMs = Math.round((wait.timeout ?? DEFAULT_TIMEOUT_S) * 1000);
  if (timeoutMs + heartbeatMs < leaseMs) return [];
  return [
    {
      path: ['wait', 'timeout'],
      message: `expected a timeout that leaves room for a heartbeat within the lease: ${timeoutMs} ms plus heartbeatMs (${heartbeatMs}) must be below leaseMs (${leaseMs}), since a WAIT holds the connection the heartbeats go on`,
    },
  ];
}
