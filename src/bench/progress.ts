/**
 * Calls the `onProgress` option on a timer with the running counters.
 */
import type { RunContext } from './context.js';
import type { ResolvedOptions } from './options.js';
import type { BenchProgress } from './types.js';

/** Emits progress snapshots while a run goes through its phases. */
export class ProgressReporter {
  private current: BenchProgress['phase'] = 'setup';
  private planned = 0;
  private since = performance.now();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly ctx: Pick<RunContext, 'sent' | 'delivered'>,
    private readonly connections: () => number,
  ) {
    if (o.onProgress) {
      this.timer = setInterval(() => this.emit(), o.progressIntervalMs);
      this.timer.unref();
    }
  }

  /** Enters a phase planned to last `plannedMs`. */
  phase(p: BenchProgress['phase'], plannedMs: number): void {
    this.current = p;
    this.planned = plannedMs;
    this.since = performance.now();
    this.emit();
  }

  /** Stops the timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private emit(): void {
    this.o.onProgress?.({
      phase: this.current,
      elapsedMs: Math.round(performance.now() - this.since),
      plannedMs: this.planned,
      sent: this.ctx.sent,
      delivered: this.ctx.delivered,
      connections: this.connections(),
    });
  }
}
