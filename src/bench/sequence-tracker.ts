/**
 * Checks the messages one subscriber receives from each publisher: every sequence number
 * exactly once, in order. Counts duplicates, late (out-of-order) arrivals and, at the end,
 * what never arrived.
 */

/** Gaps larger than this are counted as lost at once instead of remembered one by one. */
const MAX_TRACKED_GAP = 100_000;

interface PublisherState {
  /** Highest sequence number seen so far, -1 before the first. */
  high: number;
  /** Sequence numbers skipped over that may still arrive late. */
  missing: Set<number> | undefined;
  /** Skipped numbers past MAX_TRACKED_GAP, counted as lost without tracking. */
  untracked: number;
}

/** What one tracker saw. */
export interface SequenceCounts {
  received: number;
  duplicated: number;
  outOfOrder: number;
}

/** Per-subscriber sequence checking, indexed by publisher index. */
export class SequenceTracker {
  private states: PublisherState[] = [];
  readonly counts: SequenceCounts = { received: 0, duplicated: 0, outOfOrder: 0 };

  private stateOf(publisher: number): PublisherState {
    let s = this.states[publisher];
    if (s === undefined) {
      s = { high: -1, missing: undefined, untracked: 0 };
      this.states[publisher] = s;
    }
    return s;
  }

  /**
   * Records one message. Returns how many sequence numbers it settles for flow control:
   * 1 for a new in-order message plus the size of any gap it opens (those count as lost
   * until they turn up), 0 for duplicates and late arrivals (already counted).
   */
  record(publisher: number, seq: number): number {
    const s = this.stateOf(publisher);
    if (seq === s.high + 1) {
      s.high = seq;
      this.counts.received++;
      return 1;
    }
    if (seq > s.high) {
      const gap = seq - s.high - 1;
      if (gap > MAX_TRACKED_GAP) s.untracked += gap;
      else {
        s.missing ??= new Set();
        for (let n = s.high + 1; n < seq; n++) s.missing.add(n);
      }
      s.high = seq;
      this.counts.received++;
      return gap + 1;
    }
    if (s.missing?.delete(seq)) {
      this.counts.received++;
      this.counts.outOfOrder++;
      return 0;
    }
    this.counts.duplicated++;
    return 0;
  }

  /** Messages from `publisher` never received, given that it sent `sent` (numbered 0..sent-1). */
  lost(publisher: number, sent: number): number {
    const s = this.states[publisher];
    if (s === undefined) return sent;
    return (s.missing?.size ?? 0) + s.untracked + Math.max(0, sent - 1 - s.high);
  }
}
