/**
 * Running totals of the store's group commits (how many, and the seconds they took), for the
 * admin API's `GET /runtime` and the dashboard's commit latency chart: a reader takes two
 * readings and divides (the mean latency between them), so any number of readers agree and
 * nothing is reset. Fed once per committed batch, never per message.
 */
import type { CommitObserver } from '../ports/index.js';

/** What {@link CommitTotals.read} answers. */
export interface StoreCommitTotals {
  /** Batches committed since the broker started. */
  commits: number;
  /** Sum over those batches of the time from their first write to their commit, in seconds. */
  batchSecondsTotal: number;
  /** Sum of the COMMIT (write and sync) durations, in seconds. */
  commitSecondsTotal: number;
}

/**
 * Counts commits and passes each on to a second observer (the Prometheus histograms, once
 * they exist): a store takes one observer.
 */
export class CommitTotals implements CommitObserver {
  private readonly totals: StoreCommitTotals = {
    commits: 0,
    batchSecondsTotal: 0,
    commitSecondsTotal: 0,
  };
  /** Where each commit goes too. */
  next: CommitObserver | undefined;

  committed(batchSeconds: number, commitSeconds: number, writes: number): void {
    this.totals.commits++;
    this.totals.batchSecondsTotal += batchSeconds;
    this.totals.commitSecondsTotal += commitSeconds;
    this.next?.committed(batchSeconds, commitSeconds, writes);
  }

  /** A copy of the totals. */
  read(): StoreCommitTotals {
    return { ...this.totals };
  }
}
