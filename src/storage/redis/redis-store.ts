/**
 * The Redis store: the three store ports over one ioredis connection, with group commit
 * (redis-group-commit.ts), for one broker now and, through the same ports, for a cluster of
 * brokers sharing one Redis (or Redis Cluster: see the key layout in redis-keys.ts).
 *
 * What an acknowledgement is worth depends on Redis' settings (docs/storage.md, "Redis"):
 * with `appendonly yes` and `appendfsync always` a committed batch is on Redis' disk before
 * `commit()` resolves; with `appendfsync everysec` a Redis crash loses up to a second; with
 * `wait` set, each batch is also on that many replicas, so a failover keeps it.
 */
import {
  type BrokerStore,
  type LoadedQueue,
  type LoadedQueues,
  type LoadedState,
  type Logger,
  type QueuePage,
  type RetainedLoad,
  type SessionOwner,
  type StoredDelivery,
  type StoredInflight,
  type StoredMessage,
  type StoredSessionRecord,
  type StoredSubscription,
  type StoredWill,
  silentLogger,
  type WriteFence,
} from '../../ports/index.js';
import { checkClusterPrefix, DEFAULT_CLUSTER_PREFIX } from '../../redis/hash-tag.js';
import { type RedisClient, scanKeys } from '../../redis/redis-client.js';
import { loadState } from '../shared/load-state.js';
import { closeRedis, connectRedis } from './redis-connect.js';
import { RedisContext } from './redis-context.js';
import { RedisCursors } from './redis-cursors.js';
import { RedisGroupCommit, type RedisWait } from './redis-group-commit.js';
import { checkPrefix, DEFAULT_PREFIX, RedisKeys } from './redis-keys.js';
import { RedisMessages } from './redis-messages.js';
import { RedisRetained } from './redis-retained.js';
import { defineScripts } from './redis-scripts.js';
import { RedisSessions } from './redis-sessions.js';
import { redactUrl } from './redis-url.js';

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /**
   * Namespace of every key. Default 'pipit:', no '{' or '}'; on a Redis Cluster (`nodes`)
   * default '{pipit}:', and it must hold one hash tag (`{name}`): every key in one slot.
   */
  prefix?: string;
  /**
   * Wait after each batch until this many replicas have it (Redis `WAIT`), at most
   * `timeoutMs` (default 1000); fewer in time fails the commit. Default: no waiting. On a
   * Redis Cluster the `WAIT` rides in the batch's pipeline, to the master of its slot.
   */
  wait?: { replicas: number; timeoutMs?: number };
  /** A command not answered in this long fails, so a commit never hangs. Default 5000 ms. */
  commandTimeoutMs?: number;
  /** How long `open()` tries to connect. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** A batch is sent early once it holds this many commands. Default 10000. */
  maxBatchCommands?: number;
  logger?: Logger;
  /**
   * Reach Redis through Redis Sentinel: these sentinels tell where the master `name` is.
   * `url` then gives only the password, username, database and TLS (`rediss://`, for the
   * master) and, as its host, the default master name (`redis://:secret@mymaster`).
   */
  sentinels?: { host: string; port: number }[];
  /** The Sentinel master name (with `sentinels`). Default: the host of `url`. */
  name?: string;
  /**
   * On a Redis Cluster: its seed nodes (not with `sentinels`). `url` then gives only the
   * username, password and TLS (`rediss://`); its database must be 0, its host is not used.
   * Every key carries the prefix's hash tag: the store lives in one slot (docs/cluster.md).
   */
  nodes?: { host: string; port: number }[];
}

/** A BrokerStore in Redis. */
export class RedisStore implements BrokerStore {
  readonly kind = 'redis';
  readonly prefix: string;
  private readonly options: RedisStoreOptions;
  private readonly logger: Logger;
  private readonly ctx: RedisContext;
  private readonly sessions: RedisSessions;
  private readonly messages: RedisMessages;
  private readonly retained: RedisRetained;
  /** Positions committed with the batches (a cluster node's inbox position). */
  readonly cursors: RedisCursors;

  constructor(options: RedisStoreOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    const onCluster = options.nodes !== undefined;
    this.prefix = options.prefix ?? (onCluster ? DEFAULT_CLUSTER_PREFIX : DEFAULT_PREFIX);
    const problem = onCluster ? checkClusterPrefix(this.prefix) : checkPrefix(this.prefix);
    if (problem !== undefined) throw new Error(`the Redis store: ${problem}`);
    this.ctx = new RedisContext(new RedisKeys(this.prefix, onCluster), redactUrl(options.url));
    this.sessions = new RedisSessions(this.ctx);
    this.messages = new RedisMessages(this.ctx);
    this.retained = new RedisRetained(this.ctx);
    this.cursors = new RedisCursors(this.ctx);
  }

  /** Batches committed since open. */
  get transactions(): number {
    return this.ctx.live?.batcher.transactions ?? 0;
  }

  /** Batches that failed since open. */
  get failedTransactions(): number {
    return this.ctx.live?.batcher.failedTransactions ?? 0;
  }

  get full(): boolean {
    const live = this.ctx.live;
    if (live === undefined) return false;
    live.batcher.retryIfFull(Date.now(), `${this.prefix}probe`);
    return live.batcher.full;
  }

  /** What the connection is doing when it is not ready (reconnecting after a failover...). */
  unavailable(): string | undefined {
    const live = this.ctx.live;
    if (live === undefined) return undefined;
    const state = live.client.status;
    return state === 'ready' ? undefined : `Redis connection ${state}`;
  }

  /**
   * True when this store is on the Redis server (or Redis Cluster, or Sentinel master) that
   * `target` names, with the same URL and seeds, and a fenced write (WriteFence) can reach
   * `key` in its batch's atomic step: a cluster on that Redis fences the store's writes with
   * its owner keys (src/cluster/takeover.ts).
   */
  reachesKeyOf(
    target: Pick<RedisStoreOptions, 'url' | 'nodes' | 'sentinels' | 'name'>,
    key: string,
  ): boolean {
    const o = this.options;
    const same =
      o.url === target.url &&
      JSON.stringify(o.nodes) === JSON.stringify(target.nodes) &&
      JSON.stringify(o.sentinels) === JSON.stringify(target.sentinels) &&
      o.name === target.name;
    return same && this.ctx.keys.reaches(key);
  }

  /**
   * The open connection, for tests and maintenance tools (never for the broker).
   * @internal
   */
  get client(): RedisClient {
    return this.ctx.conn().client;
  }

  async open(): Promise<void> {
    if (this.ctx.live !== undefined) return;
    const commandTimeoutMs = this.options.commandTimeoutMs ?? 5000;
    const client = await connectRedis({
      url: this.options.url,
      sentinels: this.options.sentinels,
      name: this.options.name,
      nodes: this.options.nodes,
      commandTimeoutMs,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
      logger: this.logger,
    });
    defineScripts(client);
    const wait = this.options.wait;
    const batcher = new RedisGroupCommit(client, {
      wait: waitSetting(wait),
      maxBatchCommands: this.options.maxBatchCommands ?? 10_000,
      logger: this.logger,
      server: this.ctx.server,
      beforeSend: () => this.ctx.beforeSend(),
    });
    try {
      const lastId = Number((await client.hget(this.ctx.keys.meta, 'lastId')) ?? 0);
      const messageCount = await countKeys(client, this.ctx.keys.messagePattern);
      this.ctx.opened({ client, batcher }, lastId, messageCount);
      await this.logSettings(client);
    } catch (err) {
      await closeRedis(client, 100);
      throw new Error(
        `the Redis store at ${this.ctx.server} could not be read: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  commit(): Promise<void> {
    const live = this.ctx.live;
    if (live === undefined) {
      return Promise.reject(new Error(`the Redis store (${this.ctx.server}) is not open`));
    }
    return live.batcher.commit();
  }

  /** Sends the current batch now instead of on the next tick. */
  flush(): void {
    this.ctx.live?.batcher.flush();
  }

  /**
   * Sends what is pending and closes, waiting at most the command timeout for the batches in
   * flight (so a Redis that is gone does not hold the broker's shutdown).
   */
  async close(): Promise<void> {
    const live = this.ctx.live;
    if (live === undefined) return;
    await live.batcher.drain(this.options.commandTimeoutMs ?? 5000);
    this.ctx.live = undefined;
    await closeRedis(live.client, 1000);
    this.logger.info({ server: this.ctx.server, prefix: this.prefix }, 'store: Redis closed');
  }

  load(): Promise<LoadedState> {
    return loadState(this);
  }

  /** Nothing to wait for: each batch deletes the messages it leaves unreferenced (RedisMessages.gc). */
  gc(): void {
    this.messages.gc();
  }

  /** Message bodies stored (retained ones excluded), as this store instance counts them. */
  countMessages(): number {
    return this.ctx.messageCount;
  }

  /** Logs the persistence settings of the server (what an acknowledgement is worth). */
  private async logSettings(client: RedisClient): Promise<void> {
    let appendonly = 'unknown';
    let appendfsync = 'unknown';
    try {
      const reply = (await client.call('CONFIG', 'GET', 'append*')) as string[];
      for (let i = 0; i + 1 < reply.length; i += 2) {
        if (reply[i] === 'appendonly') appendonly = reply[i + 1];
        if (reply[i] === 'appendfsync') appendfsync = reply[i + 1];
      }
    } catch {
      // CONFIG may be disabled (managed Redis): the settings stay unknown.
    }
    const fields = { server: this.ctx.server, prefix: this.prefix, appendonly, appendfsync };
    this.logger.info(fields, 'store: Redis opened');
    if (appendonly === 'no') {
      this.logger.warn(
        fields,
        'store: Redis runs without appendonly: acknowledged messages are lost if Redis restarts',
      );
    }
  }

  // The session port (redis-sessions.ts).

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    this.sessions.putSession(clientId, expiryInterval, expiresAt);
  }
  setSessionOwner(clientId: string, owner: SessionOwner): void {
    this.sessions.setSessionOwner(clientId, owner);
  }
  deleteSession(clientId: string, fence?: WriteFence): void {
    this.sessions.deleteSession(clientId, fence);
  }
  putSubscription(clientId: string, subscription: StoredSubscription): void {
    this.sessions.putSubscription(clientId, subscription);
  }
  deleteSubscription(clientId: string, filter: string): void {
    this.sessions.deleteSubscription(clientId, filter);
  }
  addInboundQos2(clientId: string, packetId: number): void {
    this.sessions.addInboundQos2(clientId, packetId);
  }
  deleteInboundQos2(clientId: string, packetId: number): void {
    this.sessions.deleteInboundQos2(clientId, packetId);
  }
  putWill(clientId: string, will: StoredWill, fence?: WriteFence): void {
    this.sessions.putWill(clientId, will, fence);
  }
  deleteWill(clientId: string): void {
    this.sessions.deleteWill(clientId);
  }
  loadSessions(): Promise<StoredSessionRecord[]> {
    return this.sessions.loadSessions();
  }
  loadSession(clientId: string): Promise<StoredSessionRecord | undefined> {
    return this.sessions.loadSession(clientId);
  }
  loadWills(): Promise<Map<string, StoredWill>> {
    return this.sessions.loadWills();
  }

  // The message port (redis-messages.ts).

  putMessage(message: StoredMessage): void {
    this.messages.putMessage(message);
  }
  enqueue(clientId: string, seq: number, delivery: StoredDelivery): void {
    this.messages.enqueue(clientId, seq, delivery);
  }
  readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuePage> {
    return this.messages.readQueue(clientId, afterSeq, limit);
  }
  dequeue(clientId: string, uptoSeq: number): void {
    this.messages.dequeue(clientId, uptoSeq);
  }
  removeQueued(clientId: string, seq: number): void {
    this.messages.removeQueued(clientId, seq);
  }
  putInflight(clientId: string, inflight: StoredInflight): void {
    this.messages.putInflight(clientId, inflight);
  }
  deleteInflight(clientId: string, packetId: number): void {
    this.messages.deleteInflight(clientId, packetId);
  }
  deleteQueue(clientId: string, fence?: WriteFence): void {
    this.messages.deleteQueue(clientId, fence);
  }
  loadQueues(): Promise<LoadedQueues> {
    return this.messages.loadQueues();
  }
  loadQueue(clientId: string): Promise<LoadedQueue> {
    return this.messages.loadQueue(clientId);
  }

  // The retained port (redis-retained.ts).

  putRetained(message: StoredMessage): void {
    this.retained.putRetained(message);
  }
  deleteRetained(topic: string): void {
    this.retained.deleteRetained(topic);
  }
  matchRetained(filter: string, now: number): Promise<StoredMessage[]> {
    return this.retained.matchRetained(filter, now);
  }
  loadRetained(now: number, accept: (message: StoredMessage) => boolean): Promise<RetainedLoad> {
    return this.retained.loadRetained(now, accept);
  }
}

function waitSetting(wait: RedisStoreOptions['wait']): RedisWait | undefined {
  if (wait === undefined || wait.replicas <= 0) return undefined;
  return { replicas: wait.replicas, timeoutMs: wait.timeoutMs ?? 1000 };
}

/** Counts the keys matching `pattern` (SCAN: never blocks the server). */
async function countKeys(client: RedisClient, pattern: string): Promise<number> {
  let count = 0;
  await scanKeys(client, pattern, 1000, (keys) => {
    count += keys.length;
  });
  return count;
}
