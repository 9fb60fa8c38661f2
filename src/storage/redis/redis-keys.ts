/**
 * The Redis store's key layout.
 *
 * On a Redis Cluster the prefix holds one hash tag (`{pipit}:` by default: hash-tag.ts), so
 * every key below is in the slot of that tag (Redis hashes only a key's first `{...}`): the
 * group commit's MULTI spans many clients' and messages' keys. The inner tags then pick
 * nothing, and nothing relies on them; on one server they keep what follows true.
 *
 * - One client's keys share the hash tag `{c:<clientId>}`, so they live in one slot and every
 *   multi-key command or script on one client (dequeue, inflight, deleting a queue) is legal
 *   on a cluster: `<prefix>{c:<id>}:s` (session record), `:sub` (subscriptions), `:in`
 *   (inbound QoS 2 ids), `:q` (queue, a sorted set by seq), `:qm` (queued bytes, inflight
 *   order counter), `:f` (inflight entries).
 * - A message is one hash `<prefix>m:<id>` (body and reference count). The scripts that
 *   remove a client's entries reach it by a name they build: on a Redis Cluster that is the
 *   prefix's slot, as every key is.
 * - Retained messages: `<prefix>{r}:m` (topic -> message) and `<prefix>{r}:t` (the topics in
 *   byte order, for prefix ranges), one slot.
 * - Indexes read at start: `<prefix>sessions` and `<prefix>queues` (sets of client ids),
 *   `<prefix>wills` (client id -> will), `<prefix>meta` (the last message id).
 * - `<prefix>released`: the ids of messages whose reference count reached 0 in the current
 *   transaction, deleted at its end if still at 0 (redis-scripts.ts); empty between batches.
 *
 * A client id may hold any character: the tag ends at its first '}', and since no key suffix
 * holds a '}', the last '}' before a suffix still tells every client's keys apart.
 */

/** The default namespace of every key. */
export const DEFAULT_PREFIX = 'pipit:';

/** One client's keys. */
export interface ClientKeys {
  session: string;
  subscriptions: string;
  inbound: string;
  queue: string;
  queueMeta: string;
  inflight: string;
}

/** Checks a prefix: a '{' or '}' in it would break the hash tags. Returns an error or undefined. */
export function checkPrefix(prefix: string): string | undefined {
  if (/[{}]/.test(prefix)) {
    return `the Redis key prefix "${prefix}" may not contain '{' or '}' (they mark hash tags)`;
  }
  return undefined;
}

/** Every key name of one store, under its prefix. */
export class RedisKeys {
  readonly sessions: string;
  readonly queues: string;
  readonly wills: string;
  readonly meta: string;
  readonly retained: string;
  readonly retainedTopics: string;
  /** The set of messages released in the current transaction (empty between transactions). */
  readonly released: string;
  /** What a message's key starts with (the scripts build a message's key from its id). */
  readonly messagePrefix: string;
  /** A SCAN pattern that matches every message key (the prefix's glob characters escaped). */
  readonly messagePattern: string;

  /**
   * @param onCluster On a Redis Cluster: a key of another hash slot than the prefix's cannot
   *   be reached in a batch's transaction ({@link reaches}).
   */
  constructor(
    readonly prefix: string,
    private readonly onCluster = false,
  ) {
    this.sessions = `${prefix}sessions`;
    this.queues = `${prefix}queues`;
    this.wills = `${prefix}wills`;
    this.meta = `${prefix}meta`;
    this.retained = `${prefix}{r}:m`;
    this.retainedTopics = `${prefix}{r}:t`;
    this.released = `${prefix}released`;
    this.messagePrefix = `${prefix}m:`;
    this.messagePattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}m:*`;
  }

  /** The keys of one client (one slot). */
  client(clientId: string): ClientKeys {
    const base = `${this.prefix}{c:${clientId}}:`;
    return {
      session: `${base}s`,
      subscriptions: `${base}sub`,
      inbound: `${base}in`,
      queue: `${base}q`,
      queueMeta: `${base}qm`,
      inflight: `${base}f`,
    };
  }

  /**
   * True when a script of a batch may touch `key` with the store's keys: always on one
   * server; on a Redis Cluster when `key` is in the prefix's hash slot (its hash tag).
   */
  reaches(key: string): boolean {
    return !this.onCluster || hashTagOf(key) === hashTagOf(this.prefix);
  }

  /** The hash of one message (fields `b`: body, `r`: references). */
  message(id: number): string {
    return `${this.messagePrefix}${id}`;
  }
}

/** What Redis hashes of `key`: its first non-empty `{...}`, else the whole key. */
function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return key;
  return key.slice(open + 1, close);
}
