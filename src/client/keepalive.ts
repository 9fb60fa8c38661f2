/**
 * The client side of keepalive: a PINGREQ after `intervalMs` without sending anything
 * [MQTT-3.1.2-23], and the connection given up when its PINGRESP does not come back
 * within another interval.
 */

/** Drives PINGREQs for one connection. Timers are unref'd: they never hold the process. */
export class KeepAlive {
  private idle: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly sendPing: () => void,
    private readonly onTimeout: () => void,
  ) {}

  /** Starts the idle timer (nothing happens when the interval is 0). */
  start(): void {
    if (this.intervalMs <= 0 || this.idle) return;
    this.idle = setTimeout(() => this.fire(), this.intervalMs);
    this.idle.unref();
  }

  /** Call after every packet sent: the idle period starts again. */
  sent(): void {
    this.idle?.refresh();
  }

  /** Call on PINGRESP. */
  pong(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  /** Stops both timers. */
  stop(): void {
    if (this.idle) clearTimeout(this.idle);
    if (this.deadline) clearTimeout(this.deadline);
    this.idle = undefined;
    this.deadline = undefined;
  }

  private fire(): void {
    if (!this.deadline) {
      this.deadline = setTimeout(() => this.onTimeout(), this.intervalMs);
      this.deadline.unref();
    }
    this.sendPing();
    this.idle?.refresh();
  }
}
