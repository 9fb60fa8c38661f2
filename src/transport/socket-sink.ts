/**
 * A ConnectionSink over any Node stream socket (TCP and TLS). Writes are held until the
 * event loop has handled every socket that was ready (one `setImmediate` for all sinks),
 * then each socket gets one write: small packets are copied into one buffer, large ones
 * go out corked as one writev.
 *
 * Why not cork until `process.nextTick`: Node runs the tick queue after every socket's
 * 'data' callback, so a subscriber fed by ten publishers got ten syscalls, and a
 * publisher's PUBACKs one writev of 4-byte chunks per read. The syscalls were a fifth of
 * the broker's CPU in the pairs and fan-in profiles (bench/RESULTS.md "Hot path profile").
 */
import type { Socket } from 'node:net';
import type { ConnectionSink } from '../core/index.js';

/** How long a closing socket may take to flush before it is destroyed. */
const END_GRACE_MS = 5000;

/**
 * Up to this many pending bytes are copied into one buffer; above it the chunks go out as
 * a writev (copying 4 KiB payloads costs more than the writev's per-chunk bookkeeping).
 */
const COALESCE_MAX_BYTES = 16 * 1024;

/** Pending bytes past which a sink writes at once instead of waiting for the turn's flush. */
const EARLY_FLUSH_BYTES = 32 * 1024;

/** Sinks with pending bytes, flushed together once per event-loop turn. */
const dirty: SocketSink[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  // A flush may (through a synchronous error path) write again: the loop takes newcomers.
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
}

/** Wraps a socket as the core's byte sink. */
export class SocketSink implements ConnectionSink {
  /** Pending chunks (allocated on the first write, then reused). */
  private pending: Buffer[] | undefined;
  private pendingBytes = 0;

  constructor(private readonly socket: Socket) {}

  write(data: Buffer): void {
    if (this.socket.destroyed) return;
    if (this.pendingBytes === 0) {
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
    (this.pending ??= []).push(data);
    this.pendingBytes += data.length;
    // One turn may carry megabytes for one socket: hand them to the socket as they come, so
    // bytes held here stay few and congestion shows in the socket's own buffer (a reader that
    // keeps up drains it; one that does not gets its QoS 0 dropped).
    if (this.pendingBytes >= EARLY_FLUSH_BYTES) this.flush();
  }

  /** Bytes written and not yet taken by the network, held ones included. */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    if (this.socket.destroyed) return;
    this.flush();
    this.socket.end();
    // A peer that never closes its side must not hold the socket forever.
    setTimeout(() => this.socket.destroy(), END_GRACE_MS).unref();
  }

  /** Writes what is pending to the socket (called by the shared flush). */
  flush(): void {
    const pending = this.pending;
    const bytes = this.pendingBytes;
    if (pending === undefined || bytes === 0) return;
    this.pendingBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) {
      pending.length = 0;
      return;
    }
    const count = pending.length;
    if (count === 1) {
      socket.write(pending[0]!);
    } else if (bytes <= COALESCE_MAX_BYTES) {
      socket.write(Buffer.concat(pending, bytes));
    } else {
      socket.cork();
      for (let i = 0; i < count; i++) socket.write(pending[i]!);
      socket.uncork();
    }
    pending.length = 0;
  }
}
