/**
 * The SQLite store: the three store ports in `<dataDir>/pipit.db` (WAL mode, one
 * connection, an exclusive lock while open), with group commit and three durability modes.
 *
 * - 'fsync' (default): synchronous=FULL; `commit()` resolves after the batch's transaction
 *   is on disk. Nothing acknowledged is lost on kill -9 or power loss.
 * - 'batched': `commit()` resolves at once; batches are written with synchronous=FULL at
 *   most `batchIntervalMs` later. A crash loses at most that window.
 * - 'none': `commit()` resolves at once; synchronous=OFF, written on the next tick. A
 *   process crash loses at most a tick; an OS crash or power loss may lose more.
 *
 * better-sqlite3 is synchronous: a COMMIT (and its fsync) runs on the event loop, once per
 * batch rather than once per message. Each port is implemented by its own part
 * (sqlite-sessions.ts, sqlite-messages.ts, sqlite-retained.ts) over one connection, so the
 * writes of all three share each batch's transaction.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import {
  type BrokerStore,
  type CommitObserver,
  type Durability,
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
} from '../../ports/index.js';
import { loadState } from '../shared/load-state.js';
import { GroupCommit } from './group-commit.js';
import { DB_FILE_NAME, openDatabase } from './open-database.js';
import { SqliteContext } from './sqlite-context.js';
import { SqliteMessages } from './sqlite-messages.js';
import { SqliteRetained } from './sqlite-retained.js';
import { SqliteSessions } from './sqlite-sessions.js';
import { prepareStatements } from './statements.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** Directory of `pipit.db` (created if missing). */
  dataDir: string;
  /** Default 'fsync'. */
  durability?: Durability;
  /** 'batched' mode: the longest a batch waits before it is written. Default 50 ms. */
  batchIntervalMs?: number;
  /** A batch is committed early once it holds this many mutations. Default 10000. */
  maxBatchOps?: number;
  logger?: Logger;
}

/** A BrokerStore in SQLite. */
export class SqliteStore implements BrokerStore {
  readonly kind = 'sqlite';
  /** Path of the database file. */
  readonly file: string;
  readonly durability: Durability;
  private readonly options: SqliteStoreOptions;
  private readonly logger: Logger;
  private readonly ctx: SqliteContext;
  private readonly sessions: SqliteSessions;
  private readonly messages: SqliteMessages;
  private readonly retained: SqliteRetained;
  private commitObserver: CommitObserver | undefined;

  constructor(options: SqliteStoreOptions) {
    this.options = options;
    this.durability = options.durability ?? 'fsync';
    this.logger = options.logger ?? silentLogger;
    this.file = join(options.dataDir, DB_FILE_NAME);
    this.ctx = new SqliteContext(this.file);
    this.sessions = new SqliteSessions(this.ctx);
    this.messages = new SqliteMessages(this.ctx);
    this.retained = new SqliteRetained(this.ctx);
  }

  /** Transactions committed since open (a group commit counts once). */
  get transactions(): number {
    return this.ctx.live?.batcher.transactions ?? 0;
  }

  /** Batches rolled back after an error since open. */
  get failedTransactions(): number {
    return this.ctx.live?.batcher.failedTransactions ?? 0;
  }

  get full(): boolean {
    const live = this.ctx.live;
    if (live === undefined) return false;
    live.batcher.retryIfFull(Date.now());
    return live.batcher.full;
  }

  /**
   * The open connection, for tests and maintenance tools (never for the broker).
   * @internal Left out of the published types, which must not need better-sqlite3's.
   */
  get database(): Database.Database {
    return this.ctx.conn().db;
  }

  async open(): Promise<void> {
    if (this.ctx.live !== undefined) return;
    const opened = openDatabase(this.options.dataDir, this.durability);
    const { db } = opened;
    const stm = prepareStatements(db);
    const collected = stm.collectAll.run().changes;
    this.messages.opened(stm.maxOrd.get() as number);
    const lastMessageId = Math.max(
      stm.lastMessageId.get() as number,
      stm.maxMessageId.get() as number,
    );
    const batcher = new GroupCommit(
      {
        begin: () => stm.begin.run(),
        commit: () => stm.commit.run(),
        rollback: () => stm.rollback.run(),
        inTransaction: () => db.inTransaction,
        beforeCommit: () => this.ctx.beforeCommit(stm),
        probe: () => {
          // 64 KiB of overflow pages, removed in the same transaction.
          db.prepare(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('space_probe', zeroblob(65536))",
          ).run();
          db.prepare("DELETE FROM meta WHERE key = 'space_probe'").run();
        },
      },
      {
        durability: this.durability,
        batchIntervalMs: this.options.batchIntervalMs ?? 50,
        maxBatchOps: this.options.maxBatchOps ?? 10_000,
        logger: this.logger,
      },
    );
    batcher.observer = this.commitObserver;
    this.ctx.opened({ db, stm, batcher }, lastMessageId);
    this.logger.info(
      {
        file: opened.file,
        schema: opened.version,
        migratedFrom: opened.fromVersion,
        durability: this.durability,
        collectedMessages: collected,
      },
      'store: SQLite opened',
    );
  }

  commit(): Promise<void> {
    const live = this.ctx.live;
    if (live === undefined) return Promise.reject(new Error(`${this.file}: the store is not open`));
    return live.batcher.commit();
  }

  /** Reports each committed batch's timing to `observer` (see CommitObserver). */
  observeCommits(observer: CommitObserver | undefined): void {
    this.commitObserver = observer;
    const live = this.ctx.live;
    if (live !== undefined) live.batcher.observer = observer;
  }

  /** Commits the current batch now instead of on the next tick or interval. */
  flush(): void {
    this.ctx.live?.batcher.flush();
  }

  async close(): Promise<void> {
    const live = this.ctx.live;
    if (live === undefined) return;
    live.batcher.flush();
    this.ctx.live = undefined;
    live.db.close();
    this.logger.info({ file: this.file }, 'store: SQLite closed');
  }

  load(): Promise<LoadedState> {
    return loadState(this);
  }

  /** Deletes, in the current batch, every message no queue or inflight entry references. */
  gc(): void {
    this.messages.gc();
  }

  /** Number of retained messages stored, committed or not. */
  countRetained(): number {
    return this.retained.countRetained();
  }

  /** Number of stored messages (retained ones excluded), committed or not. */
  countMessages(): number {
    return this.ctx.conn().stm.countMessages.get() as number;
  }

  // The session port (sqlite-sessions.ts).

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    this.sessions.putSession(clientId, expiryInterval, expiresAt);
  }
  setSessionOwner(clientId: string, owner: SessionOwner): void {
    this.sessions.setSessionOwner(clientId, owner);
  }
  deleteSession(clientId: string): void {
    this.sessions.deleteSession(clientId);
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
  putWill(clientId: string, will: StoredWill): void {
    this.sessions.putWill(clientId, will);
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

  // The message port (sqlite-messages.ts).

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
  deleteQueue(clientId: string): void {
    this.messages.deleteQueue(clientId);
  }
  loadQueues(): Promise<LoadedQueues> {
    return this.messages.loadQueues();
  }
  loadQueue(clientId: string): Promise<LoadedQueue> {
    return this.messages.loadQueue(clientId);
  }

  // The retained port (sqlite-retained.ts).

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
