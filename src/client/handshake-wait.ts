/**
 * The wait for the server's CONNACK: a promise settled by the client when the CONNACK (or
 * the connection's end) comes, and a timer that gives up on a server that never answers.
 */

/** One pending CONNECT. */
export class HandshakeWait {
  /** Settles once the handshake succeeded or failed. */
  readonly promise: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private readonly timer: NodeJS.Timeout;

  /** `onTimeout` runs when no answer came within `timeoutMs` (it should close the socket). */
  constructor(timeoutMs: number, onTimeout: () => void) {
    this.promise = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.timer = setTimeout(onTimeout, timeoutMs);
  }

  /** The server accepted the connection. */
  resolve(): void {
    clearTimeout(this.timer);
    this.settle.resolve();
  }

  /** The server refused, or the connection ended first. */
  reject(error: Error): void {
    clearTimeout(this.timer);
    this.settle.reject(error);
  }
}
