/**
 * Group commit over one Redis connection.
 *
 * Mutations add commands to the current batch; the batch is sent on the next `setImmediate`
 * (or, once it holds `maxBatchCommands`, right after the current mutation) as one MULTI/EXEC,
 * so every mutation of a tick, from every MQTT connection, costs one round trip and lands
 * all or nothing. With a
 * `wait` setting, `WAIT replicas timeout` follows the EXEC on the same connection (on a Redis
 * Cluster in the batch's own pipeline, so that it goes to the batch's master): the batch
 * counts as committed only once that many replicas have it.
 *
 * Batches are pipelined (a batch does not wait for the one before it), and Redis runs them in
 * order. `commit()` settles with the current batch, or, when nothing is pending, with every
 * batch still in flight; a batch fails when any batch sent before it fails, so nothing is
 * acknowledged after a write it may depend on was lost. A lost connection fails the batches
 * in flight at once (a StoreUnavailableError) rather than holding them until Redis is back,
 * and Redis out of memory (OOM) is a StoreFullError that sets `full` until a later write
 * succeeds.
 */

import { Cluster } from 'ioredis';
import type { Logger } from '../../ports/index.js';
import type { RedisClient } from '../../redis/redis-client.js';
import { StoreFullError, StoreUnavailableError } from '../shared/errors.js';

/** A command argument. */
export type Arg = string | Buffer | number;

/** One command of a batch, and what to do with its reply (script results). */
export interface Command {
  /** A Redis command or a script defined on the client (redis-scripts.ts). */
  name: string;
  args: Arg[];
  onReply?: (reply: unknown) => void;
}

/** `WAIT` after each batch: the replicas that must have it, and how long to wait for them. */
export interface RedisWait {
  replicas: number;
  timeoutMs: number;
}

/** Settings of a RedisGroupCommit. */
export interface RedisGroupCommitOptions {
  wait?: RedisWait | undefined;
  maxBatchCommands: number;
  logger: Logger;
  /** The server, for messages (the URL without its password). */
  server: string;
  /** Runs just before a batch is sent (to add the last message id and the collection). */
  beforeSend(): void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

type Callable = Record<string, (...args: Arg[]) => unknown>;

/** One reply of a pipeline: its error, or its value. */
type Reply = [Error | null, unknown];

/** The part of an ioredis pipeline used here (its typings do not know script commands). */
type BatchPipeline = Record<string, (...args: Arg[]) => unknown> & {
  multi(): void;
  wait(replicas: number, timeoutMs: number): void;
  exec(): Promise<Reply[]>;
};

/** True when a command of the batch was refused with MOVED or ASK (the slot moved). */
function redirected(replies: Reply[]): boolean {
  return replies.some(([err]) => err !== null && /^(MOVED|ASK) /.test(err.message));
}

/** Replies of a Redis that cannot serve for now (loading, failing over, busy, a slot moved). */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|MOVED|ASK)\b/;

/** What a commit with nothing to wait for answers: one promise, the same each time. */
const SETTLED: Promise<void> = Promise.resolve();

/** While full, space is probed at most this often (when someone asks, see `retryIfFull`). */
const PROBE_INTERVAL_MS = 1000;

/** Batches commands into transactions and settles `commit()` calls. */
export class RedisGroupCommit {
  /** Batches committed. */
  transactions = 0;
  /** Batches that failed. */
  failedTransactions = 0;
  /** True while the last batch failed because Redis is out of memory. */
  full = false;
  private commands: Command[] = [];
  private waiters: Waiter[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * The last batch, when it failed in this round of `setImmediate` callbacks: {@link commit}
   * reports it until the next round. A batch refused at once (the connection down: ioredis
   * sends nothing) fails within microtasks of its flush, before a commit looked at on a later
   * immediate of the same round (Persistence's turn watch, commit-turns.ts), which found
   * nothing pending or in flight and resolved: the sentinel failover test lost two queued
   * messages so (reported committed, so never held in memory).
   */
  private recentFailure: Promise<void> | undefined;
  private failing = false;
  private earlyFlush = false;
  private lastProbe = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly options: RedisGroupCommitOptions,
  ) {}

  /** Adds a command to the current batch. */
  add(command: Command): void {
    this.commands.push(command);
    this.schedule();
    if (this.commands.length >= this.options.maxBatchCommands && !this.earlyFlush) {
      // Sent after the current mutation's commands (a microtask), never between them.
      this.earlyFlush = true;
      queueMicrotask(() => {
        this.earlyFlush = false;
        this.flush();
      });
    }
  }

  /** True while commands wait to be sent. */
  get pending(): boolean {
    return this.commands.length > 0;
  }

  /** Resolves once every command added before the call is committed. */
  commit(): Promise<void> {
    if (this.commands.length > 0) {
      return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    }
    // The same promise for the same wait (Persistence.commit compares them): nothing in
    // flight, or the one batch in flight (most of the time, when any).
    if (this.inFlight.size === 0) return this.recentFailure ?? SETTLED;
    if (this.inFlight.size === 1) return this.inFlight.values().next().value!;
    return Promise.all([...this.inFlight]).then(() => undefined);
  }

  /** Sends the current batch now (reads call this first: Redis runs them after it). */
  flush(): void {
    this.cancelSchedule();
    if (this.commands.length === 0 && this.waiters.length === 0) return;
    this.options.beforeSend();
    const { commands, waiters } = this;
    this.commands = [];
    this.waiters = [];
    const earlier = [...this.inFlight];
    const settled = Promise.all([this.send(commands), ...earlier]).then(() => undefined);
    this.inFlight.add(settled);
    settled.then(
      () => {
        this.inFlight.delete(settled);
        for (const w of waiters) w.resolve();
      },
      (err: Error) => {
        this.inFlight.delete(settled);
        for (const w of waiters) w.reject(err);
        this.recentFailure = settled;
        setImmediate(() => {
          if (this.recentFailure === settled) this.recentFailure = undefined;
        });
      },
    );
  }

  /** Waits (at most `timeoutMs`) for every batch sent so far; never rejects. */
  async drain(timeoutMs: number): Promise<void> {
    this.flush();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
    clearTimeout(timer);
  }

  /**
   * While full, tries (at most once a second, between batches) a 64 KiB write that leaves
   * nothing behind. The broker refuses the QoS 1/2 work that would otherwise be the next
   * write, so without this probe `full` would never clear once Redis has room again.
   */
  retryIfFull(now: number, probeKey: string): void {
    if (!this.full || this.pending || now - this.lastProbe < PROBE_INTERVAL_MS) return;
    this.lastProbe = now;
    this.client
      .multi()
      .set(probeKey, Buffer.alloc(65536))
      .del(probeKey)
      .exec()
      .then(
        (results) => {
          if (results?.every(([err]) => err === null) !== true || !this.full) return;
          this.full = false;
          this.options.logger.info({}, 'store: Redis writes succeed again (no longer full)');
        },
        () => {},
      );
  }

  private async send(commands: Command[]): Promise<void> {
    if (commands.length === 0) return;
    const wait = this.options.wait;
    if (wait !== undefined && this.client instanceof Cluster) {
      return this.sendWithWait(this.client, commands, wait);
    }
    const tx = this.client.multi();
    for (const c of commands) (tx as unknown as Callable)[c.name](...c.args);
    const exec = tx.exec();
    // Sent right after the EXEC, on the one connection: the reply comes once the replicas
    // have the batch.
    const replicas = wait ? this.client.wait(wait.replicas, wait.timeoutMs) : undefined;
    replicas?.catch(() => {}); // reported through exec's failure when both fail
    let results: [Error | null, unknown][] | null;
    try {
      results = await exec;
    } catch (err) {
      throw this.failed(err);
    }
    if (results === null) throw this.failed(new Error('the transaction was aborted'));
    this.takeReplies(
      commands,
      results.map(([err, reply]) => err ?? reply),
    );
    if (replicas !== undefined && wait !== undefined) {
      const acked = await replicas.catch((err: unknown) => {
        throw this.failed(err);
      });
      this.checkReplicas(acked, wait);
    }
    this.succeeded();
  }

  /**
   * A batch with `WAIT` on a Redis Cluster: MULTI, the commands, EXEC and `WAIT` in one
   * pipeline, so that the `WAIT` goes on the connection the batch goes on. ioredis routes a
   * pipeline by the slot of its keyed commands and sends the keyless ones with them
   * (Pipeline.js `exec`: `pipelineSlot` from the commands' keys, one `node` for all), where
   * `WAIT` alone would go to any master. Such a pipeline is not sent again after MOVED or ASK
   * (ioredis resends one only when every command failed the same way, and `WAIT` answered):
   * the batch fails (nothing was written: EXECABORT), and the slot map is read again for the
   * next one. Without the slot map yet (not connected), it fails at once.
   */
  private async sendWithWait(cluster: Cluster, commands: Command[], wait: RedisWait) {
    if (cluster.slots.length === 0) {
      throw this.failed(new StoreUnavailableError('the Redis Cluster is not connected yet'));
    }
    const pipeline = cluster.pipeline() as unknown as BatchPipeline;
    pipeline.multi();
    for (const c of commands) pipeline[c.name](...c.args);
    pipeline.exec(); // in a transaction, this queues the EXEC (the slot map is known)
    pipeline.wait(wait.replicas, wait.timeoutMs);
    let replies: Reply[];
    try {
      replies = await pipeline.exec();
    } catch (err) {
      throw this.failed(err);
    }
    if (redirected(replies)) cluster.refreshSlotsCache();
    const n = commands.length;
    const [execError, results] = replies[n + 1] ?? [new Error('no reply to EXEC')];
    if (execError !== null) {
      // EXECABORT: the commands refused while queued say why (OOM, MOVED...).
      const previous = replies.slice(1, n + 1).flatMap(([err]) => (err === null ? [] : [err]));
      throw this.failed(Object.assign(execError, { previousErrors: previous }));
    }
    if (!Array.isArray(results)) throw this.failed(new Error('the transaction was aborted'));
    this.takeReplies(commands, results);
    const [waitError, acked] = replies[n + 2] ?? [new Error('no reply to WAIT')];
    if (waitError !== null) throw this.failed(waitError);
    this.checkReplicas(typeof acked === 'number' ? acked : 0, wait);
    this.succeeded();
  }

  /** Hands each command its reply; throws the first error among them (counted as failed). */
  private takeReplies(commands: Command[], replies: unknown[]): void {
    let firstError: Error | undefined;
    for (let i = 0; i < replies.length; i++) {
      const reply = replies[i];
      // The replies of the commands that ran are used even when another failed (references).
      if (reply instanceof Error) firstError ??= reply;
      else commands[i]?.onReply?.(reply);
    }
    if (firstError !== undefined) throw this.failed(firstError);
  }

  /** Throws (counted as failed) when fewer replicas than `wait` asks had the batch. */
  private checkReplicas(acked: number, wait: RedisWait): void {
    if (acked >= wait.replicas) return;
    throw this.failed(
      new StoreUnavailableError(
        `only ${acked} of ${wait.replicas} Redis replicas acknowledged the batch within ${wait.timeoutMs} ms`,
      ),
    );
  }

  private succeeded(): void {
    this.transactions++;
    if (this.failing) {
      this.failing = false;
      this.options.logger.info(
        { server: this.options.server },
        'store: Redis writes succeed again',
      );
    }
    if (this.full) {
      this.full = false;
      this.options.logger.info({}, 'store: Redis writes succeed again (no longer full)');
    }
  }

  /** Counts and logs a failed batch (the first of a run at error level), typed for the core. */
  private failed(err: unknown): Error {
    this.failedTransactions++;
    const typed = this.classify(err);
    if (!this.failing) {
      this.failing = true;
      this.options.logger.error(
        { err: typed, server: this.options.server },
        'store: Redis write failed',
      );
    }
    return typed;
  }

  private classify(err: unknown): Error {
    if (err instanceof StoreUnavailableError || err instanceof StoreFullError) return err;
    const e = err instanceof Error ? err : new Error(String(err));
    const previous = (e as { previousErrors?: Error[] }).previousErrors ?? [];
    if ([e, ...previous].some((x) => x.message.startsWith('OOM'))) {
      this.full = true;
      return new StoreFullError(
        `the Redis store at ${this.options.server} is full (maxmemory reached): raise maxmemory or free memory`,
        { cause: e },
      );
    }
    // Redis answered, but for now cannot serve (loading its data, a failover, a slot moved
    // on a Redis Cluster: then a command refused while queued says so, EXEC only EXECABORT).
    const transient = [e, ...previous].some((x) => TRANSIENT_REPLIES.test(x.message));
    if (e.name === 'ReplyError' && !transient) return e;
    return new StoreUnavailableError(
      `the Redis store at ${this.options.server} is unavailable (${e.message}); not acknowledged`,
      { cause: e },
    );
  }

  private schedule(): void {
    if (this.immediate === undefined) this.immediate = setImmediate(() => this.flush());
  }

  private cancelSchedule(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
  }
}
