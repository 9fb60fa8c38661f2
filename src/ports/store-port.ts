/**
 * What every store port shares: opening, group commit and closing.
 *
 * Mutations are synchronous calls that add to the current batch; `commit()` resolves once
 * every mutation made before it is durable (group commit: all writes of a short window go
 * in one transaction). The core sends PUBACK/PUBREC/SUBACK for persistent state only after
 * that promise resolves. Reads see every mutation made before them, committed or not
 * (read-your-writes).
 */

/** How hard a commit tries before the broker acknowledges. */
export type Durability = 'fsync' | 'batched' | 'none';

/** The lifecycle and commit of a store. */
export interface StorePort {
  /** Short name for logs ('memory', 'sqlite'). */
  readonly kind: string;
  /** Opens (creating or migrating) the store; a clear error names the file and what to do. */
  open(): Promise<void>;
  /** Resolves when every mutation made before the call is durable (per the durability mode). */
  commit(): Promise<void>;
  /** True while the last commit failed for lack of space (the broker refuses new QoS 1/2 work). */
  readonly full: boolean;
  /** Commits what is pending and closes. */
  close(): Promise<void>;
  /**
   * Why the open store cannot take commits now (e.g. "Redis connection reconnecting"), or
   * undefined when it can; for `/readyz`. Optional: an embedded store is always reachable.
   */
  unavailable?(): string | undefined;
  /**
   * Reports the timing of every committed batch to `observer` (undefined stops it), for the
   * metrics. Optional: a store without batches to time (memory) leaves it out.
   */
  observeCommits?(observer: CommitObserver | undefined): void;
}

/**
 * Hears of each batch a store commits (once per batch, never per write: a group commit of a
 * thousand writes is one call).
 */
export interface CommitObserver {
  /**
   * @param batchSeconds From the batch's first write until it was committed: the longest an
   *   acknowledgement waiting for this batch waited for the store.
   * @param commitSeconds The COMMIT itself: writing the batch to the log and syncing it to
   *   disk (durability `fsync` and `batched`; `none` does not sync).
   * @param writes Mutations in the batch.
   */
  committed(batchSeconds: number, commitSeconds: number, writes: number): void;
}
