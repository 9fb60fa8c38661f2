/**
 * What `GET /api/v1/runtime` answers: the process's event-loop delay (how late timers and I/O
 * callbacks run: the broker's own latency floor) and memory. The delay is sampled by Node's
 * `monitorEventLoopDelay` (a timer in libuv, nothing on the publish path) from the first
 * request on, and reported per window of at least one second, so that any number of
 * dashboards polling at once see the same figures.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Totals of the store's group commits: a reader divides the differences of two readings. */
export interface CommitTotalsView {
  commits: number;
  batchSecondsTotal: number;
  commitSecondsTotal: number;
}

/** The answer of `GET /runtime`. */
export interface RuntimeStats {
  /** Event-loop delay over the last complete window, in milliseconds. */
  eventLoopDelayMs: { mean: number; p99: number; max: number };
  /** The window the delay covers, in milliseconds (0 before the first one completes). */
  windowMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Seconds since the process started. */
  processUptimeSeconds: number;
  /** The store's commits since start; null for a store that does not time them. */
  storeCommits: CommitTotalsView | null;
}

/** Nanoseconds to milliseconds, 3 decimals. */
function ms(ns: number): number {
  return Number.isFinite(ns) ? Math.round(ns / 1000) / 1000 : 0;
}

/** Samples the event loop (see the file comment). */
export class RuntimeSampler {
  private histogram: IntervalHistogram | undefined;
  private windowStart = 0;
  private last: RuntimeStats['eventLoopDelayMs'] = { mean: 0, p99: 0, max: 0 };
  private lastWindowMs = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The figures now (starts sampling on the first call).
   * @param storeCommits the store's commit totals, if it times its commits.
   */
  read(storeCommits?: CommitTotalsView): RuntimeStats {
    const now = this.now();
    if (this.histogram === undefined) {
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
      this.windowStart = now;
    } else if (now - this.windowStart >= 1000) {
      const h = this.histogram;
      this.last = { mean: ms(h.mean), p99: ms(h.percentile(99)), max: ms(h.max) };
      this.lastWindowMs = now - this.windowStart;
      h.reset();
      this.windowStart = now;
    }
    const memory = process.memoryUsage();
    return {
      eventLoopDelayMs: this.last,
      windowMs: this.lastWindowMs,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      processUptimeSeconds: Math.floor(process.uptime()),
      storeCommits: storeCommits ?? null,
    };
  }

  /** Stops sampling. */
  stop(): void {
    this.histogram?.disable();
    this.histogram = undefined;
  }
}
