/**
 * Redis Cluster settings that need no ioredis (the config checks them before anything
 * connects): the one hash tag every key of one Pipit cluster carries, and the URL rules.
 *
 * Why one tag: on Redis Cluster a MULTI/EXEC, a pipeline and a Lua script may only touch
 * keys of one hash slot. Pipit's store commits a batch as one MULTI/EXEC over many clients'
 * and messages' keys, the cluster's inbox position rides in that same MULTI (its atomicity
 * is what makes "consumed up to" safe), and the membership scripts touch a node's lease,
 * route table, inbox and wills at once. Splitting them per slot would break those
 * guarantees, so every key and channel of one Pipit cluster carries the prefix's hash tag
 * (`{pipit}:` by default) and lives in one slot, on one master (as BullMQ does per queue).
 * Redis Cluster then gives failover (replica promotion) and operations; several Pipit
 * clusters (prefixes with different tags) spread over the masters; one is not sharded.
 */

/** The default key prefix on Redis Cluster: the hash tag `pipit`. */
export const DEFAULT_CLUSTER_PREFIX = '{pipit}:';

/**
 * Checks a key prefix for Redis Cluster: it must hold exactly one non-empty hash tag
 * (`{name}`). Redis hashes only the first `{...}` of a key, so the tag of the prefix decides
 * the slot of every key (the store's inner `{c:<id>}` and `{r}` tags then pick nothing).
 * Returns what is wrong, or undefined.
 */
export function checkClusterPrefix(prefix: string): string | undefined {
  if (/^[^{}]*\{[^{}]+\}[^{}]*$/.test(prefix)) return undefined;
  const example = `{${prefix.replace(/[{}]/g, '').replace(/:$/, '') || 'pipit'}}:`;
  return (
    `the key prefix "${prefix}" has no hash tag: on Redis Cluster every key of one Pipit ` +
    'cluster must be in one hash slot (its group commit is one MULTI/EXEC over many keys), ' +
    `so the prefix must hold one {tag}, e.g. "${example}"`
  );
}

/**
 * Checks the URL that gives the credentials, TLS and database on Redis Cluster: the
 * database must be 0 (Redis Cluster has no other). Returns what is wrong, or undefined.
 */
export function checkClusterUrl(url: string): string | undefined {
  // A unix:// URL's path is its socket, not a database; it is refused with `nodes` (one
  // server), and that check names it.
  if (/^unix:/i.test(url)) return undefined;
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined; // the URL check names this
  }
  const db = path.replace(/^\//, '');
  if (db === '' || db === '0') return undefined;
  return `database "${db}" in the URL: Redis Cluster has database 0 only (remove "/${db}")`;
}

/** Checks seed nodes (`{ host, port }`); returns what is wrong, or undefined. */
export function checkSeedNodes(
  nodes: readonly { host: string; port: number }[],
): string | undefined {
  if (nodes.length === 0) return 'the list of Redis Cluster nodes is empty';
  for (const { host, port } of nodes) {
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      return `"${host}:${port}" is not a Redis Cluster node's host and port (1-65535)`;
    }
  }
  return undefined;
}
