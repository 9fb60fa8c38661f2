/**
 * When `--nodes`' supervisor starts a node in place of one that died: at once after a node
 * that ran a while, later and later after nodes that die soon after starting (a crash loop:
 * a poisoned message, a full disk), so that a broken node does not cost the machine a fork
 * and a Redis join every few hundred milliseconds.
 */

/** The backoff's settings. */
export interface RestartBackoffOptions {
  /** A node that died sooner than this after it listened counts as a quick death. */
  quickMs: number;
  /** The delay after the first quick death; it doubles with each quick death in a row. */
  firstDelayMs: number;
  /** The longest delay. */
  maxDelayMs: number;
}

/** The supervisor's defaults: 30 s counts as quick; 1 s, 2 s, 4 s ... up to 30 s. */
export const RESTART_BACKOFF: RestartBackoffOptions = {
  quickMs: 30_000,
  firstDelayMs: 1000,
  maxDelayMs: 30_000,
};

/** Counts quick deaths in a row and says how long to wait before the next start. */
export class RestartBackoff {
  private quickDeaths = 0;

  constructor(private readonly options: RestartBackoffOptions = RESTART_BACKOFF) {}

  /**
   * A node died `ranMs` after it listened: returns the delay before starting another (0 after
   * a node that ran at least `quickMs`, which also ends a run of quick deaths).
   */
  delayAfter(ranMs: number): number {
    if (ranMs >= this.options.quickMs) {
      this.quickDeaths = 0;
      return 0;
    }
    this.quickDeaths++;
    const doubled = this.options.firstDelayMs * 2 ** Math.min(this.quickDeaths - 1, 30);
    return Math.min(doubled, this.options.maxDelayMs);
  }
}
