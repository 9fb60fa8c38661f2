/**
 * Failed logins per key (a source address or a username) with exponential back-off: the
 * first `freeFailures` failures cost nothing; from then on the key waits `baseDelayMs`
 * after its latest failure, doubling with each further failure up to `maxDelayMs`. A key
 * is forgotten `10 × maxDelayMs` after its latest event, and at most `maxKeys` keys are kept
 * (the least recently touched go first), so a flood of new keys cannot grow memory.
 */

/** Settings of a {@link FailureBackoff}. */
export interface BackoffOptions {
  /** Failures before the first delay. */
  freeFailures: number;
  /** Delay after the failure that uses up the free ones; doubles with each further one. */
  baseDelayMs: number;
  /** Longest delay. */
  maxDelayMs: number;
  /** Keys remembered at most. */
  maxKeys: number;
  /** Milliseconds since some fixed point (Date.now by default). */
  now: () => number;
}

interface KeyRecord {
  failures: number;
  lastFailureAt: number;
  /** Latest successful login (0: none remembered). */
  lastSuccessAt: number;
  /** Latest failure or success: the record is forgotten `forgetAfterMs` after it. */
  touchedAt: number;
}

/** Failure counts and back-off per key. */
export class FailureBackoff {
  private readonly records = new Map<string, KeyRecord>();
  private readonly forgetAfterMs: number;

  constructor(private readonly options: BackoffOptions) {
    this.forgetAfterMs = 10 * options.maxDelayMs;
  }

  /** Keys remembered now (expired ones included until they are next looked at). */
  get size(): number {
    return this.records.size;
  }

  /** Recent failures of `key` (0 once forgotten). */
  failures(key: string): number {
    return this.get(key)?.failures ?? 0;
  }

  /** True when `key` has used up its free failures: each further one waits. */
  isBackingOff(key: string): boolean {
    return this.failures(key) >= this.options.freeFailures;
  }

  /** True when `key` logged in successfully within the memory and has no recent failure. */
  isKnownGood(key: string): boolean {
    const record = this.get(key);
    return record !== undefined && record.lastSuccessAt > 0 && record.failures === 0;
  }

  /**
   * Milliseconds `key` must still wait before its next check (0: none), with the delay
   * capped at `capMs` (a username's wait is kept short, see login-guard.ts).
   */
  waitMs(key: string, capMs = Number.POSITIVE_INFINITY): number {
    const record = this.get(key);
    if (record === undefined) return 0;
    const delay = Math.min(this.delayAfter(record.failures), capMs);
    return Math.max(0, record.lastFailureAt + delay - this.options.now());
  }

  /** Counts a failure of `key`; returns its wait from now on. */
  recordFailure(key: string): number {
    const now = this.options.now();
    const record = this.get(key) ?? {
      failures: 0,
      lastFailureAt: 0,
      lastSuccessAt: 0,
      touchedAt: 0,
    };
    record.failures++;
    record.lastFailureAt = now;
    this.touch(key, record, now);
    return this.delayAfter(record.failures);
  }

  /**
   * Notes a successful login from `key` (it becomes known good while it has no failures).
   * Its failures stay: an attacker who holds one account must not be able to wipe his
   * address's record between guesses at others.
   */
  recordSuccess(key: string): void {
    const now = this.options.now();
    const record = this.get(key) ?? {
      failures: 0,
      lastFailureAt: 0,
      lastSuccessAt: 0,
      touchedAt: 0,
    };
    record.lastSuccessAt = now;
    this.touch(key, record, now);
  }

  /** The delay after the `failures`-th failure. */
  private delayAfter(failures: number): number {
    const { freeFailures, baseDelayMs, maxDelayMs } = this.options;
    if (failures < freeFailures || failures === 0) return 0;
    const doublings = Math.min(failures - freeFailures, 30);
    return Math.min(maxDelayMs, baseDelayMs * 2 ** doublings);
  }

  private get(key: string): KeyRecord | undefined {
    const record = this.records.get(key);
    if (record === undefined) return undefined;
    if (this.options.now() - record.touchedAt > this.forgetAfterMs) {
      this.records.delete(key);
      return undefined;
    }
    return record;
  }

  /** Stores `record` as the most recently touched key, evicting the oldest past maxKeys. */
  private touch(key: string, record: KeyRecord, now: number): void {
    record.touchedAt = now;
    this.records.delete(key);
    this.records.set(key, record);
    while (this.records.size > this.options.maxKeys) {
      const oldest = this.records.keys().next().value as string;
      this.records.delete(oldest);
    }
  }
}
