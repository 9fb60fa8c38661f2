/**
 * Group commit over one SQLite connection.
 *
 * Mutations run at once inside an open transaction (so reads on the same connection see
 * them: read-your-writes); the transaction is committed once per batch: on the next
 * `setImmediate` in 'fsync' and 'none' modes (every mutation of the current tick, from
 * every connection, shares one transaction and one fsync), `batchIntervalMs` later in
 * 'batched' mode, or at once when the batch reaches `maxBatchOps`.
 *
 * When a statement or the COMMIT fails, the whole batch is rolled back and every
 * `commit()` called on it rejects (in every mode) when the batch closes on the next tick;
 * the rest of that tick's mutations are skipped (they would be rolled back anyway, and a
 * write that depends on a failed one must not commit without it); the next batch starts
 * clean. Lack of space (SQLITE_FULL)
 * turns into a StoreFullError and sets `full` until a later transaction commits.
 */
import type { CommitObserver, Durability, Logger } from '../../ports/index.js';
import { StoreFullError } from '../shared/errors.js';

/** What the batcher needs from the store. */
export interface GroupCommitHost {
  begin(): void;
  commit(): void;
  rollback(): void;
  inTransaction(): boolean;
  /** Runs inside the transaction just before COMMIT (message GC, last message id). */
  beforeCommit(): void;
  /** A write that needs new pages and leaves nothing behind (to learn whether space is back). */
  probe?(): void;
}

/** While full, space is probed at most this often (when someone asks, see `retryIfFull`). */
const PROBE_INTERVAL_MS = 1000;

/** Settings of a GroupCommit. */
export interface GroupCommitOptions {
  durability: Durability;
  batchIntervalMs: number;
  maxBatchOps: number;
  logger: Logger;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Batch {
  ops: number;
  /** performance.now() at the batch's first write; 0 when no observer was set. */
  openedAt: number;
  error: Error | undefined;
  waiters: Waiter[];
}

/** SQLite result codes that mean "no space left" (the disk or max_page_count). */
const FULL_CODES = new Set(['SQLITE_FULL', 'SQLITE_IOERR_WRITE']);

/** Batches mutations into transactions and settles `commit()` calls. */
export class GroupCommit {
  /** Transactions committed. */
  transactions = 0;
  /** Batches rolled back after an error. */
  /**
   * The last batch's error, when it failed in this round of `setImmediate` callbacks: a commit
   * looked at on a later immediate of the round (Persistence's turn watch) finds no batch and
   * would resolve, as if the writes it watches had landed (redis-group-commit.ts, the same).
   */
  private recentError: Error | undefined;
  failedTransactions = 0;
  /** True while the last transaction failed for lack of space. */
  full = false;
  /** Hears each committed batch's timing (read once per batch; unset: no clock is read). */
  observer: CommitObserver | undefined;
  private batch: Batch | undefined;
  private lastProbe = 0;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: GroupCommitHost,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Runs one mutation in the current batch (opening it if needed). Never throws. */
  run(mutation: () => void): void {
    const batch = this.current();
    if (batch.error !== undefined) return;
    try {
      mutation();
    } catch (err) {
      this.fail(batch, err);
      return;
    }
    if (++batch.ops >= this.options.maxBatchOps) this.flush();
  }

  /** Resolves when every earlier mutation is durable (per the durability mode). */
  commit(): Promise<void> {
    const batch = this.batch;
    if (batch === undefined) {
      return this.recentError === undefined ? Promise.resolve() : Promise.reject(this.recentError);
    }
    // A failed batch rejects at its flush (next tick), not now: the caller's next writes
    // then start a clean batch instead of joining the failed one.
    if (this.options.durability !== 'fsync' && batch.error === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => batch.waiters.push({ resolve, reject }));
  }

  /** Reports `err` to every {@link commit} until the next round of immediates. */
  private noteFailure(err: Error): void {
    this.recentError = err;
    setImmediate(() => {
      if (this.recentError === err) this.recentError = undefined;
    });
  }

  /** Commits the current batch now (synchronously) and settles its waiters. */
  flush(): void {
    const batch = this.batch;
    if (batch === undefined) return;
    this.batch = undefined;
    this.cancelSchedule();
    let commitSeconds = 0;
    if (batch.error === undefined) {
      try {
        this.host.beforeCommit();
        const started = batch.openedAt === 0 ? 0 : performance.now();
        this.host.commit();
        if (started !== 0) commitSeconds = (performance.now() - started) / 1000;
      } catch (err) {
        this.fail(batch, err);
      }
    }
    if (batch.error !== undefined) {
      if (batch.waiters.length === 0) {
        // Nobody awaits this batch ('batched'/'none' modes): the log is the only trace.
        this.options.logger.error({ err: batch.error }, 'store: a batch of writes was lost');
      }
      for (const w of batch.waiters) w.reject(batch.error);
      this.noteFailure(batch.error);
      return;
    }
    this.transactions++;
    if (batch.openedAt !== 0) {
      this.observer?.committed(
        (performance.now() - batch.openedAt) / 1000,
        commitSeconds,
        batch.ops,
      );
    }
    if (this.full) this.options.logger.info({}, 'store: writes succeed again (no longer full)');
    this.full = false;
    for (const w of batch.waiters) w.resolve();
  }

  /**
   * While full, tries (at most once per second, and only between batches) a write that needs
   * new pages, in a transaction of its own that is not counted and not logged when it fails.
   * The broker refuses the QoS 1/2 work that would otherwise be the next write, so without
   * this probe `full` would never clear once space is back.
   */
  retryIfFull(now: number): void {
    const probe = this.host.probe;
    if (!this.full || probe === undefined || this.batch !== undefined) return;
    if (now - this.lastProbe < PROBE_INTERVAL_MS) return;
    this.lastProbe = now;
    try {
      this.host.begin();
      probe.call(this.host);
      this.host.commit();
    } catch {
      try {
        if (this.host.inTransaction()) this.host.rollback();
      } catch {
        // The next batch reports a connection that cannot roll back.
      }
      return;
    }
    this.full = false;
    this.options.logger.info({}, 'store: writes succeed again (no longer full)');
  }

  /** True while a batch is open. */
  get pending(): boolean {
    return this.batch !== undefined;
  }

  private current(): Batch {
    if (this.batch !== undefined) return this.batch;
    const openedAt = this.observer === undefined ? 0 : performance.now();
    const batch: Batch = { ops: 0, openedAt, error: undefined, waiters: [] };
    this.batch = batch;
    try {
      this.host.begin();
    } catch (err) {
      this.fail(batch, err);
    }
    this.schedule();
    return batch;
  }

  private fail(batch: Batch, err: unknown): void {
    this.failedTransactions++;
    batch.error = this.classify(err);
    try {
      if (this.host.inTransaction()) this.host.rollback();
    } catch (rollbackErr) {
      this.options.logger.error({ err: rollbackErr }, 'store: rollback failed');
    }
    if (this.timer !== undefined && this.batch === batch) {
      // 'batched': report the failure on the next tick rather than after the interval.
      this.cancelSchedule();
      this.immediate = setImmediate(() => this.flush());
    }
  }

  private classify(err: unknown): Error {
    const code = String((err as { code?: unknown }).code ?? '');
    this.full = FULL_CODES.has(code);
    if (this.full) {
      this.options.logger.warn({ code }, 'store: full, refusing writes until space is freed');
      return new StoreFullError(
        `the store is full (${code}: ${(err as Error).message}): free disk space`,
        { cause: err },
      );
    }
    this.options.logger.error({ err }, 'store: write failed');
    return err instanceof Error ? err : new Error(String(err));
  }

  private schedule(): void {
    if (this.options.durability === 'batched') {
      this.timer = setTimeout(() => this.flush(), this.options.batchIntervalMs);
    } else {
      this.immediate = setImmediate(() => this.flush());
    }
  }

  private cancelSchedule(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }
}
