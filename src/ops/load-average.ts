/**
 * Mosquitto's `$SYS/broker/load/...` values: how fast a counter grows, per minute, smoothed
 * as exponential moving averages over 1, 5 and 15 minutes (the Unix load average's formula).
 * At each update the counter's growth since the previous one, scaled to a minute, pulls each
 * average towards it by `1 - e^(-elapsed / window)`.
 */

/** The averaging windows, in the order of {@link LoadAverage.values}: topic suffix and seconds. */
export const LOAD_WINDOWS: readonly (readonly [suffix: string, seconds: number])[] = [
  ['1min', 60],
  ['5min', 300],
  ['15min', 900],
];

/** The three moving averages of one counter's rate (per minute). */
export class LoadAverage {
  /** The averages, one per {@link LOAD_WINDOWS} entry; 0 until the counter moves. */
  readonly values: number[] = LOAD_WINDOWS.map(() => 0);
  private last: number;

  /** @param start the counter's value when averaging starts */
  constructor(start: number) {
    this.last = start;
  }

  /**
   * Takes the counter's value `total`, `elapsedSeconds` after the previous update; an update
   * with no time elapsed only moves the baseline.
   */
  update(total: number, elapsedSeconds: number): void {
    const grown = total - this.last;
    this.last = total;
    if (!(elapsedSeconds > 0)) return;
    const perMinute = (grown * 60) / elapsedSeconds;
    for (let i = 0; i < LOAD_WINDOWS.length; i++) {
      const decay = Math.exp(-elapsedSeconds / LOAD_WINDOWS[i][1]);
      this.values[i] = perMinute + decay * (this.values[i] - perMinute);
    }
  }
}
