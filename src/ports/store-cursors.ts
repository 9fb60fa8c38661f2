/**
 * Positions in a stream kept outside the store (a cluster node's inbox), written in the
 * store's own commits: a position set after the writes that reading up to it caused lands in
 * the same batch as those writes (or a later one), so a committed position never claims more
 * than the store holds. Who reads the stream after its reader died starts after it and
 * delivers nothing twice.
 */

/** Named positions committed with the store's batches. */
export interface StoreCursors {
  /**
   * Sets `name` to `position` in the batch being filled (after every write made so far);
   * `committed` is told once that batch is in the store.
   */
  set(name: string, position: string, committed?: () => void): void;
  /** The committed position of `name`, or undefined when it has none. */
  read(name: string): Promise<string | undefined>;
  /** Deletes `name` in the batch being filled. */
  delete(name: string): void;
}
