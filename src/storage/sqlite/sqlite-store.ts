/**
 * The SQLite store: the BrokerStore port in `<dataDir>/pipit.db` (WAL mode, one
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
 * batch rather than once per message.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import {
  type BrokerStore,
  type Durability,
  type LoadedState,
  type Logger,
  type QueuedEntry,
  type RetainedLoad,
  type SessionOwner,
  type StoredDelivery,
  type StoredInflight,
  type StoredMessage,
  type StoredSubscription,
  type StoredWill,
  silentLogger,
} from '../../ports/index.js';
import { GcCandidates } from '../shared/message-gc.js';
import { GroupCommit } from './group-commit.js';
import { INFLIGHT_STATE, loadState } from './load.js';
import { loadRetainedRows } from './load-retained.js';
import { DB_FILE_NAME, explain, openDatabase } from './open-database.js';
import { readQueueRows } from './read-queue.js';
import {
  deliveryParams,
  messageParams,
  retainedParams,
  subscriptionParams,
  willParams,
} from './rows.js';
import { prepareStatements, type Statements } from './statements.js';

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

/** How long an unreferenced message waits before it is collected (see GcCandidates). */
const GC_DELAY_MS = 1000;

interface Live {
  db: Database.Database;
  stm: Statements;
  batcher: GroupCommit;
}

/** A BrokerStore in SQLite. */
export class SqliteStore implements BrokerStore {
  readonly kind = 'sqlite';
  /** Path of the database file. */
  readonly file: string;
  readonly durability: Durability;
  private readonly options: SqliteStoreOptions;
  private readonly logger: Logger;
  private live: Live | undefined;
  /** Last seq handed out per client (filled from the table on a client's first enqueue). */
  private readonly seqs = new Map<string, number>();
  private nextOrd = 0;
  private lastMessageId = 0;
  private lastMessageIdWritten = 0;
  private readonly gcCandidates = new GcCandidates(GC_DELAY_MS);

  constructor(options: SqliteStoreOptions) {
    this.options = options;
    this.durability = options.durability ?? 'fsync';
    this.logger = options.logger ?? silentLogger;
    this.file = join(options.dataDir, DB_FILE_NAME);
  }

  /** Transactions committed since open (a group commit counts once). */
  get transactions(): number {
    return this.live?.batcher.transactions ?? 0;
  }

  /** Batches rolled back after an error since open. */
  get failedTransactions(): number {
    return this.live?.batcher.failedTransactions ?? 0;
  }

  get full(): boolean {
    const live = this.live;
    if (live === undefined) return false;
    live.batcher.retryIfFull(Date.now());
    return live.batcher.full;
  }

  /**
   * The open connection, for tests and maintenance tools (never for the broker).
   * @internal Left out of the published types, which must not need better-sqlite3's.
   */
  get database(): Database.Database {
    return this.conn().db;
  }

  async open(): Promise<void> {
    if (this.live !== undefined) return;
    const opened = openDatabase(this.options.dataDir, this.durability);
    const { db } = opened;
    const stm = prepareStatements(db);
    const collected = stm.collectAll.run().changes;
    this.nextOrd = stm.maxOrd.get() as number;
    this.lastMessageId = Math.max(
      stm.lastMessageId.get() as number,
      stm.maxMessageId.get() as number,
    );
    this.lastMessageIdWritten = this.lastMessageId;
    const batcher = new GroupCommit(
      {
        begin: () => stm.begin.run(),
        commit: () => stm.commit.run(),
        rollback: () => stm.rollback.run(),
        inTransaction: () => db.inTransaction,
        beforeCommit: () => this.beforeCommit(stm),
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
    this.live = { db, stm, batcher };
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

  async load(): Promise<LoadedState> {
    try {
      const state = loadState(this.conn().stm);
      // Ids of this batch are written to meta only at commit (read-your-writes).
      state.lastMessageId = Math.max(state.lastMessageId, this.lastMessageId);
      return state;
    } catch (err) {
      throw explain(err, this.file);
    }
  }

  async loadRetained(
    now: number,
    accept: (message: StoredMessage) => boolean,
  ): Promise<RetainedLoad> {
    const { stm, batcher } = this.conn();
    try {
      return loadRetainedRows(stm, batcher, now, accept);
    } catch (err) {
      throw explain(err, this.file);
    }
  }

  putMessage(message: StoredMessage): void {
    const { stm, batcher } = this.conn();
    if (message.id > this.lastMessageId) this.lastMessageId = message.id;
    batcher.run(() => stm.putMessage.run(...messageParams(message)));
    this.gcCandidates.add(message.id);
  }

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.putSession.run(clientId, expiryInterval, expiresAt ?? null));
  }

  setSessionOwner(clientId: string, owner: SessionOwner): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.setSessionOwner.run(owner.username, clientId));
  }

  deleteSession(clientId: string): void {
    const { stm, batcher } = this.conn();
    this.seqs.delete(clientId);
    batcher.run(() => {
      stm.deleteSession.run(clientId);
      stm.deleteSubscriptions.run(clientId);
      for (const id of stm.deleteQueue.all(clientId) as number[]) this.gcCandidates.add(id);
      for (const id of stm.deleteAllInflight.all(clientId) as number[]) this.gcCandidates.add(id);
      stm.deleteAllInbound.run(clientId);
      stm.deleteWill.run(clientId);
    });
  }

  putSubscription(clientId: string, s: StoredSubscription): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.putSubscription.run(clientId, ...subscriptionParams(s)));
  }

  deleteSubscription(clientId: string, filter: string): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.deleteSubscription.run(clientId, filter));
  }

  enqueue(clientId: string, delivery: StoredDelivery): number {
    const { stm, batcher } = this.conn();
    let last = this.seqs.get(clientId);
    if (last === undefined) last = (stm.maxSeq.get(clientId) as number | null) ?? 0;
    const seq = last + 1;
    this.seqs.set(clientId, seq);
    batcher.run(() => stm.enqueue.run(clientId, seq, ...deliveryParams(delivery)));
    return seq;
  }

  async readQueue(
    clientId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ entries: QueuedEntry[]; messages: Map<number, StoredMessage> }> {
    return readQueueRows(this.conn().stm, clientId, afterSeq, limit);
  }

  dequeue(clientId: string, uptoSeq: number): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => {
      for (const id of stm.dequeue.all(clientId, uptoSeq) as number[]) this.gcCandidates.add(id);
    });
  }

  putInflight(clientId: string, inflight: StoredInflight): void {
    const { stm, batcher } = this.conn();
    const d = inflight.delivery;
    batcher.run(() => {
      const old = stm.inflightMessage.get(clientId, inflight.packetId) as number | undefined;
      if (old !== undefined && old !== d.messageId) this.gcCandidates.add(old);
      stm.putInflight.run(
        clientId,
        inflight.packetId,
        ++this.nextOrd,
        INFLIGHT_STATE[inflight.state],
        ...deliveryParams(d),
      );
    });
  }

  deleteInflight(clientId: string, packetId: number): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => {
      const id = stm.deleteInflight.get(clientId, packetId) as number | undefined;
      if (id !== undefined) this.gcCandidates.add(id);
    });
  }

  addInboundQos2(clientId: string, packetId: number): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.addInbound.run(clientId, packetId));
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.deleteInbound.run(clientId, packetId));
  }

  putWill(clientId: string, will: StoredWill): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.putWill.run(clientId, ...willParams(will)));
  }

  deleteWill(clientId: string): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.deleteWill.run(clientId));
  }

  putRetained(message: StoredMessage): void {
    const { stm, batcher } = this.conn();
    if (message.id > this.lastMessageId) this.lastMessageId = message.id;
    batcher.run(() => stm.putRetained.run(...retainedParams(message)));
  }

  deleteRetained(topic: string): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.deleteRetained.run(topic));
  }

  commit(): Promise<void> {
    if (this.live === undefined)
      return Promise.reject(new Error(`${this.file}: the store is not open`));
    return this.live.batcher.commit();
  }

  /** Commits the current batch now instead of on the next tick or interval. */
  flush(): void {
    this.live?.batcher.flush();
  }

  async close(): Promise<void> {
    const live = this.live;
    if (live === undefined) return;
    live.batcher.flush();
    this.live = undefined;
    this.seqs.clear();
    live.db.close();
    this.logger.info({ file: this.file }, 'store: SQLite closed');
  }

  /** Deletes, in the current batch, every message no queue or inflight entry references. */
  gc(): void {
    const { stm, batcher } = this.conn();
    batcher.run(() => stm.collectAll.run());
    this.gcCandidates.clear();
  }

  /** Number of retained messages stored, committed or not. */
  countRetained(): number {
    return this.conn().stm.countRetained.get() as number;
  }

  /** Number of stored messages (retained ones excluded), committed or not. */
  countMessages(): number {
    return this.conn().stm.countMessages.get() as number;
  }

  private beforeCommit(stm: Statements): void {
    for (const id of this.gcCandidates.takeDue()) stm.collectMessage.run({ id });
    if (this.lastMessageId > this.lastMessageIdWritten) {
      stm.setLastMessageId.run({ id: this.lastMessageId });
      this.lastMessageIdWritten = this.lastMessageId;
    }
  }

  private conn(): Live {
    if (this.live === undefined) throw new Error(`${this.file}: the store is not open`);
    return this.live;
  }
}
