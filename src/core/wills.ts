/**
 * Will messages waiting for their Will Delay Interval (MQTT 5) or for the session's end.
 * With a store, a waiting will is written with its absolute due time, so the delay keeps
 * counting across a restart.
 */

import type { Clock, TimerHandle } from '../ports/index.js';
import type { Will } from '../protocol/index.js';
import type { ClientInfo } from './hooks.js';
import type { Persistence } from './persistence.js';

interface PendingWill {
  will: Will;
  client: ClientInfo;
  timer: TimerHandle | undefined;
}

/** Holds delayed wills by client id and publishes each at most once. */
export class WillScheduler {
  private readonly pending = new Map<string, PendingWill>();

  constructor(
    private readonly clock: Clock,
    private readonly publish: (will: Will, client: ClientInfo) => void,
    private readonly persistence?: Persistence | undefined,
  ) {}

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
   * Interval [MQTT-3.1.3-9] (at once when there is none).
   */
  schedule(client: ClientInfo, will: Will): void {
    this.cancel(client.clientId);
    const delay = will.properties?.willDelayInterval ?? 0;
    if (delay === 0) {
      this.persistence?.deleteWill(client.clientId);
      this.publish(will, client);
      return;
    }
    const dueAt = this.clock.now() + delay * 1000;
    this.persistence?.putWill(client.clientId, {
      will,
      username: client.username,
      listener: client.listener,
      dueAt,
    });
    this.wait(client, will, dueAt);
  }

  /** Puts back a will read from the store, due at `dueAt` (at once if that has passed). */
  restore(client: ClientInfo, will: Will, dueAt: number): void {
    if (dueAt <= this.clock.now()) {
      this.persistence?.deleteWill(client.clientId);
      this.publish(will, client);
      return;
    }
    this.wait(client, will, dueAt);
  }

  /** The session was resumed before the delay passed: the will is not sent [MQTT-3.1.3-9]. */
  cancel(clientId: string): void {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    if (entry.timer) this.clock.clearTimeout(entry.timer);
    this.pending.delete(clientId);
    this.persistence?.deleteWill(clientId);
  }

  /** The delay passed or the session ended, whichever came first: publish now. */
  fire(clientId: string): void {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    this.cancel(clientId);
    this.publish(entry.will, entry.client);
  }

  /** Drops every pending will without publishing (broker shutdown; stored ones stay stored). */
  clear(): void {
    for (const entry of this.pending.values()) {
      if (entry.timer) this.clock.clearTimeout(entry.timer);
    }
    this.pending.clear();
  }

  private wait(client: ClientInfo, will: Will, dueAt: number): void {
    const entry: PendingWill = { will, client, timer: undefined };
    entry.timer = this.clock.setTimeout(() => this.fire(client.clientId), dueAt - this.clock.now());
    this.pending.set(client.clientId, entry);
  }
}
