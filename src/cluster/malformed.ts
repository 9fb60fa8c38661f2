/**
 * What this node refuses of what it reads from Redis: inbox entries, route announcements,
 * control messages and retained announcements that are not what a Pipit node writes
 * (garbage, truncated, of the wrong shape). Each is skipped, counted by kind (in
 * `status().malformed`) and logged, throttled: the first of a kind at once, then at most one
 * line per kind per interval, with how many were not logged since. Whatever writes garbage
 * into Redis cannot flood the log nor stop the node.
 */
import type { Logger } from '../ports/index.js';

/** Where a malformed input was read. */
export type MalformedKind = 'inbox' | 'routes' | 'control' | 'retained';

/** Malformed inputs skipped, per kind. */
export type MalformedCounters = Record<MalformedKind, number>;

/** Minimum time between two log lines of one kind (ms). */
const LOG_INTERVAL_MS = 10_000;
/** Characters of a malformed text kept in its log line. */
const SAMPLE_CHARS = 200;

/** Counts and logs (throttled) the malformed inputs this node skipped. */
export class MalformedInput {
  readonly counters: MalformedCounters = { inbox: 0, routes: 0, control: 0, retained: 0 };
  private readonly lastLogged = new Map<MalformedKind, number>();
  private readonly unlogged: MalformedCounters = { inbox: 0, routes: 0, control: 0, retained: 0 };

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one skipped input: `reason` says what is wrong with it. */
  note(kind: MalformedKind, reason: string, detail: Record<string, unknown> = {}): void {
    this.counters[kind]++;
    const now = this.now();
    const last = this.lastLogged.get(kind);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) {
      this.unlogged[kind]++;
      return;
    }
    this.lastLogged.set(kind, now);
    const notLogged = this.unlogged[kind];
    this.unlogged[kind] = 0;
    this.logger.warn(
      { kind, reason, ...detail, notLoggedSince: notLogged },
      `cluster: malformed ${kind} input from Redis skipped`,
    );
  }

  /** `text` cut to a length fit for a log line. */
  static sample(text: string): string {
    return text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS)}...` : text;
  }
}
