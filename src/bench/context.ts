/**
 * State shared by every publisher and subscriber of one bench run.
 */
import { LatencyHistogram } from './histogram.js';

/** Counters and switches one run's roles share. */
export class RunContext {
  /** Marks this run's payloads so stray messages are ignored. */
  readonly runTag: number;
  readonly latency = new LatencyHistogram();
  /** True between the end of the warm-up and the end of the measured window. */
  measuring = false;
  /** Publishing allowed (false once the measured window is over). */
  running = false;
  sent = 0;
  delivered = 0;
  errors = 0;
  /** Publisher socket writes, and the fewest messages one of them carried. */
  writes = 0;
  minPerWrite = Number.POSITIVE_INFINITY;
  /** Per publisher index: deliveries (and detected losses) that settle its window. */
  readonly settled: number[] = [];
  private pumpScheduled = false;
  private pumpFn: () => void = () => {};

  constructor(runTag: number) {
    this.runTag = runTag;
  }

  /** Counts one publisher write of `messages` messages. */
  countWrite(messages: number): void {
    this.writes++;
    if (messages < this.minPerWrite) this.minPerWrite = messages;
  }

  /** Sets what a scheduled pump runs (the engine's pass over its publishers). */
  setPump(fn: () => void): void {
    this.pumpFn = fn;
  }

  /**
   * Asks for one pass over the publishers after the current I/O callbacks: many deliveries
   * in one loop turn lead to one batched write per publisher, not one write each.
   */
  schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pumpFn();
    });
  }
}
