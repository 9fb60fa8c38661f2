/**
 * A bridge's `maxIncomingRate`: messages per second it takes from the remote. A token bucket
 * holding one second's worth; past it the bridge stops reading from the remote until the
 * debt is paid, and TCP pushes back on the remote. Nothing is dropped or refused (the remote
 * is the operator's own peer, and MQTT 3.1.1 has no way to refuse): a flooding or runaway
 * remote only gets slower, and the local clients keep their share of the broker.
 */
import type { MqttClient } from '../client/index.js';

/** The incoming rate limit of one bridge (across its connections). */
export class IncomingRate {
  private tokens: number;
  private last: number;
  private timer: NodeJS.Timeout | undefined;
  /** Times the remote was paused for going over the rate (a counter, read on demand). */
  pauses = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number,
  ) {
    this.tokens = Math.max(1, perSecond);
    this.last = now();
  }

  /** A message came from the remote on `client`: pauses it when it is over the rate. */
  took(client: MqttClient): void {
    // The clock is read only when the bucket looks empty: once per `perSecond` messages at most.
    if (--this.tokens >= 0 || this.timer !== undefined) return;
    const wait = this.debtMs();
    if (wait <= 0) return;
    this.pauses++;
    client.pauseReading();
    this.resumeAfter(client, wait);
  }

  /** Stops the pending resume (the bridge stopped). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private resumeAfter(client: MqttClient, ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const wait = this.debtMs();
      if (wait > 0 && client.connected) this.resumeAfter(client, wait);
      else client.resumeReading();
    }, ms);
    this.timer.unref();
  }

  /** Refills from the clock; the ms until the tokens are back above zero. */
  private debtMs(): number {
    const now = this.now();
    const capacity = Math.max(1, this.perSecond);
    this.tokens = Math.min(capacity, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
  }
}
