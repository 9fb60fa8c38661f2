/**
 * Candidates for message garbage collection, checked one generation late.
 *
 * A message becomes a candidate when it is stored or when an entry that referenced it goes
 * away. It is checked (and deleted if nothing references it) only after at least one whole
 * `delayMs` interval, so a message dequeued in one tick and put inflight in a later one is
 * not lost in between.
 */
export class GcCandidates {
  private current = new Set<number>();
  private previous = new Set<number>();
  private lastSwap: number;

  constructor(
    private readonly delayMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastSwap = now();
  }

  /** Marks a message id as possibly unreferenced. */
  add(messageId: number): void {
    this.current.add(messageId);
  }

  /**
   * Returns the ids that have waited long enough (an empty list when it is not yet time)
   * and starts a new generation.
   */
  takeDue(): number[] {
    const t = this.now();
    if (t - this.lastSwap < this.delayMs) return [];
    this.lastSwap = t;
    const due = [...this.previous];
    this.previous = this.current;
    this.current = new Set();
    return due;
  }

  /** Forgets every candidate (after a full collection). */
  clear(): void {
    this.current.clear();
    this.previous.clear();
  }
}
