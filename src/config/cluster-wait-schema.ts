/**
 * `cluster.wait` (docs/cluster.md): what the rest of the `cluster:` section rules out. The
 * same checks as the embedded options' (src/cluster/options.ts), worded for the file
 * (seconds, not ms).
 */

/** The `cluster:` keys the checks read (already valid on their own). */
interface ClusterSection {
  wait?: { replicas: number; timeout?: number | undefined } | undefined;
  nodes?: string[] | undefined;
  leaseMs?: number | undefined;
  heartbeatMs?: number | undefined;
}

/** Default of cluster.wait.timeout, in seconds (the Redis store's too). */
const DEFAULT_TIMEOUT_S = 1;

/**
 * `wait` on a Redis Cluster (WAIT has no key: ioredis would send it to any master), and a
 * timeout that leaves the heartbeats no room within the lease (a WAIT holds the command
 * connection the heartbeats go on).
 */
export function clusterWaitProblems(c: ClusterSection): { path: string[]; message: string }[] {
  const wait = c.wait;
  if (wait === undefined) return [];
  if (c.nodes !== undefined) {
    return [
      {
        path: ['wait'],
        message:
          'not supported on a Redis Cluster (nodes) yet: WAIT would go to any master, not the one holding the cluster',
      },
    ];
  }
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
