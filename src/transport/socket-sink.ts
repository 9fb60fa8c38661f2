/**
 * A ConnectionSink over any Node stream socket (TCP and TLS): writes made in one tick are
 * corked and flushed together, so a fan-out becomes one writev per socket.
 */
import type { Socket } from 'node:net';
import type { ConnectionSink } from '../core/index.js';

/** How long a closing socket may take to flush before it is destroyed. */
const END_GRACE_MS = 5000;

/** Wraps a socket as the core's byte sink. */
export class SocketSink implements ConnectionSink {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  write(data: Buffer): void {
    if (this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(data);
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    if (this.socket.destroyed) return;
    if (this.corked) this.uncork();
    this.socket.end();
    // A peer that never closes its side must not hold the socket forever.
    setTimeout(() => this.socket.destroy(), END_GRACE_MS).unref();
  }

  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };
}
