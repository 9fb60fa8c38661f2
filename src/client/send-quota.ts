/**
 * How many QoS 1/2 publishes may be in flight: the client's own `maxInflight`, lowered by
 * the server's MQTT 5 Receive Maximum [MQTT-3.3.4-7]. A publish over the quota waits for an
 * acknowledgement to free a slot.
 */
export class SendQuota {
  private available: number;
  private readonly waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.available = limit;
  }

  /** Sets the quota for a new connection (no publish is in flight yet). */
  reset(limit: number): void {
    this.available = limit;
  }

  /** Resolves once a slot is free, and takes it. */
  acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Frees a slot: the oldest waiter takes it, or it becomes available. */
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.available++;
  }

  /** Wakes every waiter (the connection closed; each then fails on the closed state). */
  wakeAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
