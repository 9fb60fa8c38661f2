/**
 * The sections of the configuration schema that reach Redis: `storage:` (the session store)
 * and `cluster:` (docs/cluster.md), with what they share (Sentinel lists, `wait`).
 */
import { z } from 'zod';
import { INBOX_MAX_LENGTH_RANGE } from '../cluster/options.js';
import { clusterWaitProblems } from './cluster-wait-schema.js';
import {
  redisClusterNodeList,
  redisClusterProblems,
  refineStorageRedis,
} from './redis-cluster-schema.js';
import { redisUrl, unixSocketProblems } from './redis-url-schema.js';
import { bool, int, oneOf, seconds, text } from './schema-fields.js';

/** Redis Sentinel: `host:port` of each sentinel (cluster.sentinels, storage.sentinels). */
const sentinelList = () =>
  z
    .array(
      z
        .string({ error: 'expected host:port of a sentinel' })
        .regex(/^[^\s:]+:\d{1,5}$/, { error: 'expected host:port of a sentinel' }),
      { error: 'expected a list of host:port (the sentinels)' },
    )
    .min(1, { error: 'expected at least one sentinel (host:port)' });

/** `WAIT` after writes (storage.wait, cluster.wait): how many replicas, how long at most. */
const waitSchema = () =>
  z.strictObject({
    replicas: int(1, 100),
    timeout: seconds(60).optional(),
  });

/** `storage:`: where sessions and retained messages are kept. */
export const storageSchema = z
  .strictObject({
    type: oneOf(['sqlite', 'memory', 'redis']).optional(),
    dataDir: text().optional(),
    durability: oneOf(['fsync', 'batched', 'none']).optional(),
    // The Redis store (type: redis).
    url: text().optional(),
    // Checked with storage.nodes (refineStorageRedis): no '{' '}' on one server, one {tag} on a Redis Cluster.
    prefix: z.string({ error: 'expected a string' }).optional(),
    wait: waitSchema().optional(),
    // Redis Sentinel (type: redis): the sentinels and the master name (default: url's host).
    sentinels: sentinelList().optional(),
    name: text().optional(),
    // Redis Cluster (type: redis): its seed nodes.
    nodes: redisClusterNodeList().optional(),
  })
  .superRefine(refineStorageRedis, { when: () => true });

/** `cluster:` (docs/cluster.md): join a cluster of nodes over Redis. */
export const clusterSchema = z
  .strictObject({
    // Required, except with `nodes`: a Redis Cluster's URL gives only credentials and TLS.
    url: redisUrl().optional(),
    nodeId: int(0, 255).optional(),
    leaseMs: int(100, 3_600_000).optional(),
    heartbeatMs: int(10, 3_600_000).optional(),
    keyPrefix: text().optional(),
    advertise: z
      .string({ error: 'expected host:port where MQTT clients reach this node' })
      .regex(/^\S+:\d{1,5}$/, { error: 'expected host:port where MQTT clients reach this node' })
      .optional(),
    // Redis Sentinel: the sentinels and the master name (default: url's host).
    sentinels: sentinelList().optional(),
    name: text().optional(),
    // Redis Cluster: its seed nodes (every key under one hash tag: docs/cluster.md).
    nodes: redisClusterNodeList().optional(),
    // WAIT after the writes acknowledgements stand behind (forwards, route changes).
    wait: waitSchema().optional(),
    // The entries each inbox stream keeps, about (XADD MAXLEN ~): src/cluster/options.ts.
    inboxMaxLength: int(
      ...INBOX_MAX_LENGTH_RANGE,
      'a whole number of entries 100-1000000000',
    ).optional(),
    // QoS 0 forwards on per-node pub/sub channels, not the inbox (src/cluster/options.ts).
    qos0Channel: bool().optional(),
  })
  .superRefine((c, ctx) => {
    for (const { path, message } of clusterWaitProblems(c)) {
      ctx.addIssue({ code: 'custom', message, path, input: c.wait });
    }
    if (c.url === undefined && c.nodes === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected a Redis URL such as "redis://127.0.0.1:6379" (or cluster.nodes, the seed nodes of a Redis Cluster)',
        path: ['url'],
        input: c.url,
      });
    }
    for (const { path, message } of redisClusterProblems(c)) {
      ctx.addIssue({ code: 'custom', message, path: [path], input: c.nodes });
    }
    for (const { path, message } of unixSocketProblems(c)) {
      ctx.addIssue({ code: 'custom', message, path: [path], input: c[path] });
    }
    if (c.name !== undefined && c.sentinels === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'the Sentinel master name needs cluster.sentinels (host:port of each sentinel)',
        path: ['name'],
        input: c.name,
      });
    }
    if (c.qos0Channel === true && c.nodes !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'not available on a Redis Cluster (cluster.nodes): a PUBLISH there reaches every shard; remove it (QoS 0 goes by the inbox stream)',
        path: ['qos0Channel'],
        input: c.qos0Channel,
      });
    }
    if (c.heartbeatMs !== undefined && c.heartbeatMs >= (c.leaseMs ?? 10_000)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected heartbeatMs below leaseMs (default 10000)',
        path: ['heartbeatMs'],
        input: c.heartbeatMs,
      });
    }
  });
