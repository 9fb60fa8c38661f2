/**
 * The Redis URL keys of the configuration (`cluster.url`; `storage.url` is checked in
 * checks.ts): redis://, rediss:// or unix:// (a Redis on this host over a Unix socket,
 * docs/cluster.md "Redis over a Unix socket"), and what a socket rules out.
 */
import { z } from 'zod';
import { isUnixUrl, readUnixUrl } from '../redis/unix-url.js';

const EXPECTED =
  'expected a Redis URL such as "redis://127.0.0.1:6379" or "unix:///run/redis/redis.sock"';

/**
 * What is wrong with a cluster URL (`cluster.url`, `--cluster`), or undefined: it must be a
 * redis://, rediss:// or well-formed unix:// URL.
 */
export function clusterUrlProblem(url: string): string | undefined {
  if (!isUnixUrl(url)) return /^rediss?:\/\/./.test(url) ? undefined : EXPECTED;
  const target = readUnixUrl(url);
  return typeof target === 'string' ? target : undefined;
}

/** `cluster.url`: see {@link clusterUrlProblem}. */
export const redisUrl = () =>
  z.string({ error: EXPECTED }).superRefine((url, ctx) => {
    const message = clusterUrlProblem(url);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: url });
  });

/**
 * What a unix:// URL rules out in a `cluster:` or `storage:` section: Sentinel and Redis
 * Cluster find their servers and reach them over TCP (a socket is one server on this host).
 */
export function unixSocketProblems(section: {
  url?: unknown;
  nodes?: unknown;
  sentinels?: unknown;
}): { path: 'nodes' | 'sentinels'; message: string }[] {
  if (typeof section.url !== 'string' || !isUnixUrl(section.url)) return [];
  return (['nodes', 'sentinels'] as const)
    .filter((key) => section[key] !== undefined)
    .map((key) => ({
      path: key,
      message: `cannot be used with a unix:// url: a Unix socket reaches one Redis server, and ${key === 'nodes' ? 'a Redis Cluster' : 'Sentinel'} finds its servers and reaches them over TCP (give a redis:// or rediss:// url)`,
    }));
}
