/**
 * The queue entries whose store batch has not settled yet (neither committed nor known
 * failed), for a stored queue's page reads. A batch in flight (Redis behind a slow `WAIT`, a
 * commit queued behind the one before) is not in what a read returns yet: a page read then
 * must not take its entries for lost, and should wait for them rather than come back short.
 * The sentinel failover test lost a message that way: a page read raced the batch of the
 * entry just queued, found it missing, and uncounted it; the queue never read it again.
 */
import type { TurnMarker } from './persistence.js';

/** A queue entry's number in its client's queue. */
interface Numbered {
  seq: number;
}

/** Groups of entries written in one turn, until that turn's commit settled. */
export class UnsettledWrites {
  private readonly groups = new Map<Numbered[], Promise<void>>();

  /**
   * Watches `entries` (the store-only writes of one turn, in seq order; the caller may add to
   * the list while the turn lasts) until `turn`'s commit settled.
   */
  watch(entries: Numbered[], turn: TurnMarker): void {
    this.groups.set(entries, turn.told);
    void turn.told.then(() => this.groups.delete(entries));
  }

  /** The highest seq up to which every entry's batch settled (`lastSeq` when none is in flight). */
  settledUpTo(lastSeq: number): number {
    let first = Number.POSITIVE_INFINITY;
    for (const entries of this.groups.keys()) {
      const seq = entries[0]?.seq;
      if (seq !== undefined && seq < first) first = seq;
    }
    return first === Number.POSITIVE_INFINITY ? lastSeq : first - 1;
  }

  /** Resolves once the batches in flight now of entries numbered above `seq` settled. */
  settledAbove(seq: number): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    for (const [entries, told] of this.groups) {
      if ((entries.at(-1)?.seq ?? 0) > seq) waits.push(told);
    }
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
  }

  /** Forgets every group (the queue was released). */
  clear(): void {
    this.groups.clear();
  }
}
