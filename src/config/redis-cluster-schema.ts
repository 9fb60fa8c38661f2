/**
 * The Redis Cluster keys of the configuration (`cluster.nodes`, `storage.nodes`): the seed
 * node list and what a Redis Cluster rules out besides (docs/cluster.md, "Redis Cluster").
 */
import { z } from 'zod';
import { checkClusterPrefix, checkClusterUrl } from '../redis/hash-tag.js';
import { unixSocketProblems } from './redis-url-schema.js';

/** Redis Cluster: `host:port` of each seed node (cluster.nodes, storage.nodes). */
export const redisClusterNodeList = () =>
  z
    .array(
      z
        .string({ error: 'expected host:port of a Redis Cluster node' })
        .regex(/^[^\s:]+:\d{1,5}$/, { error: 'expected host:port of a Redis Cluster node' }),
      { error: 'expected a list of host:port (the Redis Cluster nodes)' },
    )
    .min(1, { error: 'expected at least one Redis Cluster node (host:port)' });

/**
 * What Redis Cluster (`nodes`) rules out in a `cluster:` or `storage:` section: sentinels
 * besides, a database other than 0 in the URL, a key prefix without one hash tag.
 */
export function redisClusterProblems(section: {
  nodes?: string[] | undefined;
  sentinels?: string[] | undefined;
  url?: string | undefined;
  keyPrefix?: string | undefined;
  prefix?: string | undefined;
}): { path: 'nodes' | 'url' | 'keyPrefix' | 'prefix'; message: string }[] {
  if (section.nodes === undefined) return [];
  const problems: { path: 'nodes' | 'url' | 'keyPrefix' | 'prefix'; message: string }[] = [];
  if (section.sentinels !== undefined) {
    problems.push({
      path: 'nodes',
      message: 'nodes (a Redis Cluster) and sentinels (Redis Sentinel) cannot both be set',
    });
  }
  const db = section.url === undefined ? undefined : checkClusterUrl(section.url);
  if (db !== undefined) problems.push({ path: 'url', message: db });
  for (const path of ['keyPrefix', 'prefix'] as const) {
    const prefix = section[path];
    const tag = prefix === undefined ? undefined : checkClusterPrefix(prefix);
    if (tag !== undefined) problems.push({ path, message: tag });
  }
  return problems;
}

/**
 * `storage:`'s prefix and Redis Cluster keys, checked even when other keys of the section
 * are wrong (all problems in one answer): on one server the prefix has no '{' or '}' (they
 * would mark a hash tag); with `nodes` see {@link redisClusterProblems}.
 */
export function refineStorageRedis(
  storage: {
    prefix?: unknown;
    nodes?: unknown;
    sentinels?: unknown;
    url?: unknown;
  },
  ctx: z.RefinementCtx,
): void {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  for (const { path, message } of unixSocketProblems(storage)) {
    ctx.addIssue({ code: 'custom', message, path: [path], input: storage[path] });
  }
  if (Array.isArray(storage.nodes)) {
    const section = {
      nodes: storage.nodes as string[],
      sentinels: storage.sentinels === undefined ? undefined : [],
      url: text(storage.url),
      prefix: text(storage.prefix),
    };
    for (const { path, message } of redisClusterProblems(section)) {
      ctx.addIssue({ code: 'custom', message, path: [path], input: storage.nodes });
    }
    return;
  }
  const prefix = text(storage.prefix);
  if (prefix !== undefined && /[{}]/.test(prefix)) {
    ctx.addIssue({
      code: 'custom',
      message: "expected a key prefix without '{' or '}' (they mark hash tags)",
      path: ['prefix'],
      input: prefix,
    });
  }
}
