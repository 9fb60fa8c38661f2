/**
 * The queue in front of password hashing. PBKDF2 runs on libuv's thread pool, but a job
 * handed to the pool cannot be taken back, reordered or dropped, so a flood of bad logins
 * used to queue hashes there faster than they ran, and good logins waited behind all of
 * them (and behind hashes for connections long closed). Here at most `concurrency` jobs run;
 * the others wait in this queue, which is bounded and picks the next job by:
 *
 * 1. lane, asked anew at every pick (a source that has just failed drops to the last lane,
 *    with the jobs it still has waiting);
 * 2. fewest pending jobs of the same source (so a source that opens thirty logins at once
 *    waits behind one that opens one: a fair share of hashing per source);
 * 3. newest first. Under a backlog the oldest logins are the ones whose clients are about to
 *    give up (the connect timeout); serving the newest first answers someone in time rather
 *    than everyone too late (adaptive LIFO, as request queues under overload do).
 *
 * When the queue is full, a newcomer that ranks at least as well as the worst waiting job
 * takes its place (the oldest among the worst is turned away as 'busy'); otherwise the
 * newcomer is. Jobs whose connection
 * closed are dropped unrun. Every job has a gate (its username); while a gate is closed (the
 * username is under attack; asked anew at every pick), its jobs run one at a time, each once
 * the gate's wait has passed, and at most `maxQueuedPerGate` of them wait (same rule when
 * full).
 */

/** Lanes, best first: 0 known good source, 1 new source, 2 source with failures. */
export type Lane = 0 | 1 | 2;

/** How a job ended: it ran, found no room, or its connection closed before it could run. */
export type HashOutcome = 'done' | 'busy' | 'abandoned';

/** One password check. */
export interface HashJob {
  /** Who asked (an address key); undefined shares one anonymous source. */
  readonly source: string | undefined;
  /** The job's lane now. */
  lane(): Lane;
  /** The job's gate (its username). */
  readonly gate: string;
  /** True once nobody waits for the answer (the connection closed): the job is dropped. */
  isClosed(): boolean;
  /** The check itself (it keeps its own result). */
  run(): Promise<void>;
}

/** Settings of a {@link HashQueue}. */
export interface HashQueueOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting at most. */
  maxQueued: number;
  /** Jobs of one closed gate waiting at most. */
  maxQueuedPerGate: number;
  /** True while `gate` is closed: one job at a time, spaced by `gateWaitMs`. */
  gated(gate: string): boolean;
  /** Milliseconds before the next job of a closed `gate` may start (0: now). */
  gateWaitMs(gate: string): number;
}

interface Entry {
  readonly job: HashJob;
  settle(outcome: HashOutcome): void;
  fail(err: unknown): void;
}

/** Rank of a waiting job: lower is better; lane first, then the source's pending jobs. */
interface Rank {
  lane: Lane;
  pending: number;
}

function better(a: Rank, b: Rank): boolean {
  return a.lane < b.lane || (a.lane === b.lane && a.pending < b.pending);
}

/** Raises the count of `key` in `counts`. */
function increment<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Lowers the count of `key` in `counts`, deleting it at zero. */
function decrement<K>(counts: Map<K, number>, key: K): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}

/** A bounded, prioritized queue of password checks with a concurrency limit. */
export class HashQueue {
  /** Waiting jobs in arrival order. */
  private readonly waiting: Entry[] = [];
  private runningCount = 0;
  private readonly runningPerGate = new Map<string, number>();
  private readonly queuedPerGate = new Map<string, number>();
  /** Jobs waiting or running per source. */
  private readonly pendingPerSource = new Map<string | undefined, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: HashQueueOptions) {}

  /** Jobs waiting. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Jobs running. */
  get running(): number {
    return this.runningCount;
  }

  /**
   * Queues `job`. Resolves 'done' once it ran, 'busy' when it found no room (or lost its
   * place to a better job), 'abandoned' when its connection closed before it could run.
   * Rejects when the check itself throws.
   */
  submit(job: HashJob): Promise<HashOutcome> {
    return new Promise<HashOutcome>((settle, fail) => {
      const entry: Entry = { job, settle, fail };
      if (!this.admit(entry)) {
        settle('busy');
        return;
      }
      this.dispatch();
    });
  }

  /** Adds `entry` if there is room, or room can be made; false otherwise. */
  private admit(entry: Entry): boolean {
    const { gate, source } = entry.job;
    const rank: Rank = { lane: entry.job.lane(), pending: this.pendingOf(source) + 1 };
    if (this.gateFull(gate)) {
      this.dropClosed();
      if (this.gateFull(gate) && !this.evictWorse(rank, gate)) return false;
    }
    if (this.waiting.length >= this.options.maxQueued) {
      this.dropClosed();
      if (this.waiting.length >= this.options.maxQueued && !this.evictWorse(rank, undefined)) {
        return false;
      }
    }
    this.waiting.push(entry);
    increment(this.pendingPerSource, source);
    increment(this.queuedPerGate, gate);
    return true;
  }

  private gateFull(gate: string): boolean {
    const queued = this.queuedPerGate.get(gate) ?? 0;
    return queued >= this.options.maxQueuedPerGate && this.options.gated(gate);
  }

  private pendingOf(source: string | undefined): number {
    return this.pendingPerSource.get(source) ?? 0;
  }

  private rankOf(entry: Entry): Rank {
    return { lane: entry.job.lane(), pending: this.pendingOf(entry.job.source) };
  }

  /**
   * Turns away the worst waiting job (of `gate`, when given; the oldest among equals) if
   * `rank` is at least as good; false when every waiting job ranks above `rank`.
   */
  private evictWorse(rank: Rank, gate: string | undefined): boolean {
    let worst = -1;
    let worstRank: Rank | undefined;
    for (let i = 0; i < this.waiting.length; i++) {
      const entry = this.waiting[i]!;
      if (gate !== undefined && entry.job.gate !== gate) continue;
      const r = this.rankOf(entry);
      if (worstRank === undefined || better(worstRank, r)) {
        worst = i;
        worstRank = r;
      }
    }
    if (worstRank === undefined || better(worstRank, rank)) return false;
    this.removeAt(worst).settle('busy');
    return true;
  }

  /** Settles every waiting job whose connection closed as 'abandoned'. */
  private dropClosed(): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i]!.job.isClosed()) this.removeAt(i).settle('abandoned');
    }
  }

  /** Takes a waiting entry out for good (it no longer counts as pending). */
  private removeAt(index: number): Entry {
    const entry = this.takeAt(index);
    decrement(this.pendingPerSource, entry.job.source);
    return entry;
  }

  /** Takes a waiting entry out of the queue; it stays pending (it is about to run). */
  private takeAt(index: number): Entry {
    const entry = this.waiting.splice(index, 1)[0]!;
    decrement(this.queuedPerGate, entry.job.gate);
    return entry;
  }

  /** Starts the best startable jobs while there is capacity; re-arms for gated ones. */
  private dispatch(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.runningCount < this.options.concurrency && this.waiting.length > 0) {
      const next = this.pick();
      if (typeof next === 'number') {
        if (next < Number.POSITIVE_INFINITY) {
          this.timer = setTimeout(() => this.dispatch(), Math.max(1, next));
        }
        return;
      }
      this.start(next);
    }
  }

  /**
   * Takes the best startable job, dropping closed ones on the way; or, when none can start,
   * the milliseconds until a gated one may (Infinity: until a running job finishes).
   */
  private pick(): Entry | number {
    let wait = Number.POSITIVE_INFINITY;
    let best = -1;
    let bestRank: Rank | undefined;
    for (let i = 0; i < this.waiting.length; i++) {
      const entry = this.waiting[i]!;
      if (entry.job.isClosed()) {
        this.removeAt(i--).settle('abandoned');
        continue;
      }
      const gate = entry.job.gate;
      if (this.options.gated(gate)) {
        if (this.runningPerGate.has(gate)) continue;
        const ms = this.options.gateWaitMs(gate);
        if (ms > 0) {
          wait = Math.min(wait, ms);
          continue;
        }
      }
      const rank = this.rankOf(entry);
      // `!better(bestRank, rank)`: among equals the later (newer) one wins.
      if (bestRank === undefined || !better(bestRank, rank)) {
        best = i;
        bestRank = rank;
      }
    }
    // Still pending while it runs: a source's share counts its running jobs too.
    return best < 0 ? wait : this.takeAt(best);
  }

  private start(entry: Entry): void {
    this.runningCount++;
    increment(this.runningPerGate, entry.job.gate);
    let result: Promise<void>;
    try {
      result = entry.job.run();
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      () => this.finish(entry, () => entry.settle('done')),
      (err: unknown) => this.finish(entry, () => entry.fail(err)),
    );
  }

  private finish(entry: Entry, settle: () => void): void {
    this.runningCount--;
    decrement(this.pendingPerSource, entry.job.source);
    decrement(this.runningPerGate, entry.job.gate);
    settle();
    this.dispatch();
  }
}
