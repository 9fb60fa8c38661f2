/**
 * `cluster.wait`: the cluster's writes that an acknowledgement stands behind (a forward to
 * another node's inbox, a route table change, a connect's owner key) count only once that
 * many replicas have them (Redis `WAIT`), as the Redis store's `wait` does for its batches. A
 * failover then keeps what was acknowledged. Writes nothing can refuse (owner keys taken
 * without a connect's claim, will copies) ride the same `WAIT`s and are only counted when
 * short ({@link ReplicaWait.follow}).
 *
 * `WAIT` counts the writes of the connection it is sent on, so it goes on the node's command
 * connection, right after the writes of a turn (pipelined: no round trip of its own). It
 * blocks that connection (the heartbeats too) until the replicas answer or the timeout ends,
 * so at most one is under way: the writes of the turns meanwhile share the next one, sent
 * when it returns. With replicas that keep up, that is one `WAIT` per turn that wrote; with
 * one stopped, one per timeout, and the commands queued behind a `WAIT` run between two.
 *
 * On a Redis Cluster the writes go to the master of the key prefix's hash slot, and so does
 * the `WAIT` (slot-wait.ts). There a write may also leave that connection: redirected by
 * MOVED, or sent again by ioredis after CLUSTERDOWN, TRYAGAIN or a failover. Its reply then
 * comes after the `WAIT`'s answer (on one connection, replies come in order), or the slot
 * map no longer names the connection the `WAIT` went on: the answer is not about it, so once
 * every write is answered one more `WAIT` goes to the slot's master as it is then (also
 * when the first one failed: a master demoted by a failover refuses `WAIT`).
 */
import { Cluster } from 'ioredis';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { sendWait, slotOf } from '../redis/slot-wait.js';

/** The replicas that must have a write, and how long to wait for them. */
export interface ReplicaWaitSetting {
  replicas: number;
  timeoutMs: number;
}

/** What `WAIT` did, read by whoever reports it (`status().replicaWait`). */
export interface ReplicaWaitCounters {
  /** `WAIT` commands sent. */
  waits: number;
  /** Those answered with fewer replicas than asked (timed out), or failed. Logged. */
  shortfalls: number;
  /**
   * Writes nothing waits for that rode a `WAIT` answered short ({@link ReplicaWait.follow}:
   * owner keys taken without a connect's claim, will copies). Logged, nothing refused.
   */
  unconfirmed: number;
  /**
   * Redis Cluster: `WAIT`s sent again because a write of the turn left the connection the
   * first one went on (redirected, sent again), the slot moved to another master meanwhile,
   * or the first one failed (its master demoted or gone: a failover).
   */
  resent: number;
}

/** An answer of `WAIT`, and whether its connection was still the slot master's then. */
interface Answer {
  acked: number;
  onSlotMaster: boolean;
}

/**
 * The `WAIT` of `cluster.wait` on `redis` (on a Redis Cluster, to the master of the slot of
 * `keyPrefix`'s hash tag), with a store only: without one (`--memory`) no
 * acknowledgement waits for the cluster's writes, so waiting would cost and promise nothing
 * (said once, at start). Undefined without `wait`.
 */
export function replicaWait(
  wait: ReplicaWaitSetting | undefined,
  redis: RedisClient,
  logger: Logger,
  withStore: boolean,
  keyPrefix: string,
): ReplicaWait | undefined {
  if (wait === undefined) return undefined;
  if (!withStore) {
    logger.warn(
      {},
      "cluster: cluster.wait is ignored without a store (--memory): acknowledgements do not wait for the cluster's writes",
    );
    return undefined;
  }
  return new ReplicaWait(redis, wait, logger, keyPrefix);
}

/** Sends `WAIT` after the writes of a turn, one at a time, and reports short answers. */
export class ReplicaWait {
  readonly counters: ReplicaWaitCounters = { waits: 0, shortfalls: 0, unconfirmed: 0, resent: 0 };
  /** The `WAIT` under way (it holds the connection). */
  private current: Promise<Answer> | undefined;
  /** The one to send when it returns, shared by the writes sent meanwhile. */
  private queued: Promise<Answer> | undefined;
  /** The last answer was short: the next full one is logged. */
  private short = false;
  /** A followed write came back short since the last full answer (logged once per run). */
  private followedShort = false;
  /** The hash slot of the key prefix: where the writes go on a Redis Cluster. */
  private readonly slot: number;

  constructor(
    private readonly redis: RedisClient,
    readonly setting: ReplicaWaitSetting,
    private readonly logger: Logger,
    keyPrefix: string,
  ) {
    this.slot = slotOf(keyPrefix);
  }

  /**
   * Resolves with the number of replicas that have every write sent on the connection
   * before the call (call it right after sending them; `writes`: their replies, which a
   * Redis Cluster may redirect); rejects when `WAIT` failed.
   */
  after(writes: readonly Promise<unknown>[] = []): Promise<number> {
    const answer = this.shared();
    if (!(this.redis instanceof Cluster)) return answer.then(({ acked }) => acked);
    return this.onSlot(answer, writes);
  }

  /** True when `replicas` (an answer of {@link after}) is as many as the setting asks. */
  enough(replicas: number): boolean {
    return replicas >= this.setting.replicas;
  }

  /**
   * Redis Cluster: the answer, if every write was answered before it on its connection and
   * that connection is still the slot master's; else (or when it failed: a master demoted by
   * a failover refuses `WAIT`, a dead one's connection closes, while ioredis sends the writes
   * on to the new master) the answer of one more `WAIT`, sent once every write is answered.
   */
  private async onSlot(first: Promise<Answer>, writes: readonly Promise<unknown>[]) {
    let pending = writes.length;
    for (const write of writes) {
      write.then(
        () => pending--,
        () => pending--,
      );
    }
    const answer = await first.catch(() => undefined); // counted and logged by send()
    // The replies read before the WAIT's (same connection, in order) have settled their
    // commands by the next turn; one still pending was redirected or is to be sent again.
    await new Promise((resolve) => setImmediate(resolve));
    if (answer?.onSlotMaster === true && pending === 0) return answer.acked;
    this.counters.resent++;
    await Promise.allSettled(writes);
    const again = await this.shared();
    if (!again.onSlotMaster) {
      throw new Error('the hash slot moved to another Redis master while waiting for replicas');
    }
    return again.acked;
  }

  /** The `WAIT` to send now, or the one queued behind the one under way. */
  private shared(): Promise<Answer> {
    if (this.queued !== undefined) return this.queued;
    if (this.current === undefined) return this.send();
    const next = this.current.then(
      () => this.send(),
      () => this.send(),
    );
    this.queued = next;
    return next;
  }

  /**
   * Writes just sent that no acknowledgement stands behind and nothing can refuse (an owner
   * key the old owner let go of already, a will copy of a connected client): they ride the
   * next `WAIT` (no `WAIT` of their own), and a short answer is counted in `unconfirmed` and
   * logged (once per run of short answers), so that an operator knows a failover then could
   * lose them. `what` names them in the log.
   */
  follow(what: string, fields: Record<string, unknown> = {}): void {
    const short = (): void => {
      this.counters.unconfirmed++;
      if (this.followedShort) return;
      this.followedShort = true;
      this.logger.warn(
        { ...fields, replicas: this.setting.replicas },
        `cluster: ${what} not on enough Redis replicas in time (kept: nothing can refuse it; a failover now may lose it)`,
      );
    };
    this.after().then((acked) => {
      if (!this.enough(acked)) short();
    }, short);
  }

  private send(): Promise<Answer> {
    this.queued = undefined;
    this.counters.waits++;
    const { replicas, timeoutMs } = this.setting;
    const sent = sendWait(this.redis, this.slot, replicas, timeoutMs);
    const wait = sent.answer.then(
      (acked) => {
        this.answered(acked);
        return { acked, onSlotMaster: sent.onSlotMaster() };
      },
      (err: unknown) => {
        this.answered(-1, err);
        throw err;
      },
    );
    this.current = wait;
    const done = (): void => {
      if (this.current === wait) this.current = undefined;
    };
    wait.then(done, done);
    return wait;
  }
  /** Counts a short answer; logs the first of a run and the end of it. */
  private answered(acked: number, err?: unknown): void {
    const { replicas, timeoutMs } = this.setting;
    if (acked >= replicas) {
      if (this.short) this.logger.info({ replicas }, 'cluster: Redis replicas keep up again');
      this.short = false;
      this.followedShort = false;
      return;
    }
    this.counters.shortfalls++;
    if (this.short) return;
    this.short = true;
    this.logger.error(
      err === undefined ? { acked, replicas, timeoutMs } : { err: String(err), replicas },
      `cluster: ${err === undefined ? `only ${acked} of ${replicas}` : 'no'} Redis replicas acknowledged the cluster's writes within ${timeoutMs} ms: forwards are not acknowledged until they do`,
    );
  }
}
