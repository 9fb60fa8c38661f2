/**
 * Will messages waiting for their Will Delay Interval (MQTT 5) or for the session's end.
 * With a store, a waiting will is written with its absolute due time, so the delay keeps
 * counting across a restart.
 */

import type { Clock, StoredWill, TimerHandle } from '../ports/index.js';
import type { Will } from '../protocol/index.js';
import type { ClientInfo } from './hooks.js';
import type { Persistence } from './persistence.js';
import type { WillVerdict } from './will-verdict.js';

/**
 * Told the fate of each will a scheduler sends or drops (a cluster node keeps records of the
 * wills it took from dead nodes in Redis until they are sent or cancelled).
 */
export interface WillFate {
  /** `clientId`'s will was published; `routed` settles once it is routed (hooks included). */
  sent(clientId: string, routed: Promise<void>): void;
  /** `clientId`'s waiting will was dropped unsent (session resumed, replaced, moved away). */
  cancelled(clientId: string): void;
}

interface PendingWill {
  will: Will;
  client: ClientInfo;
  verdict: WillVerdict | undefined;
  /** When it falls due (ms since the epoch). */
  dueAt: number;
  timer: TimerHandle | undefined;
}

/** Holds delayed wills by client id and publishes each at most once. */
export class WillScheduler {
  private readonly pending = new Map<string, PendingWill>();
  private fate: WillFate | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly publish: (
      will: Will,
      client: ClientInfo,
      verdict: WillVerdict | undefined,
    ) => Promise<void> | undefined,
    private readonly persistence?: Persistence | undefined,
  ) {}

  /** Tells `fate` of every will sent or dropped from now on (one observer). */
  observe(fate: WillFate): void {
    this.fate = fate;
  }

  /** True when a will of `clientId` is waiting. */
  has(clientId: string): boolean {
    return this.pending.has(clientId);
  }

  /** Number of wills waiting. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * A connection ended without a normal DISCONNECT: publish its will after the Will Delay
   * Interval [MQTT-3.1.3-9] (at once when there is none). `verdict`: see {@link WillVerdict}.
   */
  schedule(client: ClientInfo, will: Will, verdict?: WillVerdict): void {
    const delay = will.properties?.willDelayInterval ?? 0;
    this.scheduleAt(client, will, this.clock.now() + delay * 1000, verdict);
  }

  /**
   * As {@link schedule}, due at `dueAt` (ms, absolute; at once when it has passed): a cluster
   * node sending the will of a dead node's client keeps the deadline counted from the death.
   */
  scheduleAt(client: ClientInfo, will: Will, dueAt: number, verdict?: WillVerdict): void {
    this.cancel(client.clientId);
    if (dueAt <= this.clock.now()) {
      this.persistence?.deleteWill(client.clientId);
      this.send(will, client, verdict);
      return;
    }
    this.persistence?.putWill(client.clientId, storedWill(client, will, dueAt, verdict));
    this.wait(client, will, dueAt, verdict);
  }

  /**
   * `clientId`'s waiting will in its stored form (with its due time), or undefined when none
   * waits: what the store should hold of it (session-resync.ts writes it again when the
   * batch of its write failed).
   */
  stored(clientId: string): StoredWill | undefined {
    const entry = this.pending.get(clientId);
    if (entry === undefined) return undefined;
    return storedWill(entry.client, entry.will, entry.dueAt, entry.verdict);
  }

  /** Puts back a will read from the store, due at `dueAt` (at once if that has passed). */
  restore(client: ClientInfo, will: Will, dueAt: number, verdict?: WillVerdict): void {
    if (dueAt <= this.clock.now()) {
      this.persistence?.deleteWill(client.clientId);
      this.send(will, client, verdict);
      return;
    }
    this.wait(client, will, dueAt, verdict);
  }

  /** The session was resumed before the delay passed: the will is not sent [MQTT-3.1.3-9]. */
  cancel(clientId: string): void {
    if (this.take(clientId) !== undefined) this.fate?.cancelled(clientId);
  }

  /** The delay passed or the session ended, whichever came first: publish now. */
  fire(clientId: string): void {
    const entry = this.take(clientId);
    if (entry !== undefined) this.send(entry.will, entry.client, entry.verdict);
  }

  /** Takes `clientId`'s waiting will out (its timer and its stored copy gone), if any. */
  private take(clientId: string): PendingWill | undefined {
    const entry = this.pending.get(clientId);
    if (!entry) return undefined;
    if (entry.timer) this.clock.clearTimeout(entry.timer);
    this.pending.delete(clientId);
    this.persistence?.deleteWill(clientId);
    return entry;
  }

  /**
   * Drops every pending will without publishing (broker shutdown, or a cluster node's drain
   * handing its sessions on: stored ones stay stored, and the observer is told nothing).
   */
  clear(): void {
    for (const entry of this.pending.values()) {
      if (entry.timer) this.clock.clearTimeout(entry.timer);
    }
    this.pending.clear();
  }

  private send(will: Will, client: ClientInfo, verdict: WillVerdict | undefined): void {
    const routed = this.publish(will, client, verdict) ?? Promise.resolve();
    this.fate?.sent(client.clientId, routed);
  }

  private wait(
    client: ClientInfo,
    will: Will,
    dueAt: number,
    verdict: WillVerdict | undefined,
  ): void {
    // A will put back over one already waiting replaces it (one timer per client id).
    const previous = this.pending.get(client.clientId);
    if (previous?.timer) this.clock.clearTimeout(previous.timer);
    const entry: PendingWill = { will, client, verdict, dueAt, timer: undefined };
    entry.timer = this.clock.setTimeout(() => this.fire(client.clientId), dueAt - this.clock.now());
    this.pending.set(client.clientId, entry);
  }
}

/** A waiting will as the store holds it. */
function storedWill(
  client: ClientInfo,
  will: Will,
  dueAt: number,
  verdict: WillVerdict | undefined,
): StoredWill {
  return {
    will,
    username: client.username,
    listener: client.listener,
    dueAt,
    ...(verdict === undefined ? {} : { verdict }),
  };
}
