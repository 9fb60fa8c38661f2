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
import { pauseSharedReads, readUntilPeerCloses, resumeSharedReads } from './shared-read-pause.js';

/** How long a closing socket may take to flush before it is destroyed. */
const END_GRACE_MS = 5000;

/**
 * Up to this many pending bytes are copied into one buffer; above it the chunks go out as a
 * writev (copying 4 KiB payloads costs more than the writev's per-chunk bookkeeping), with
 * runs of small chunks copied into buffers of up to this size (see SMALL_CHUNK_BYTES).
 */
const COALESCE_MAX_BYTES = 16 * 1024;

/**
 * Chunks below this size are never a writev entry of their own: an entry costs ~80 bytes in
 * the socket's queue, so 2-byte PINGRESPs queued one by one to a client that does not read
 * cost 40 times their size (and each is a separate entry for the kernel).
 */
const SMALL_CHUNK_BYTES = 1024;

/** Pending bytes past which a sink writes at once instead of waiting for the turn's flush. */
const EARLY_FLUSH_BYTES = 32 * 1024;

/**
 * Sinks with pending bytes (the first `dirtyCount` entries), flushed together once per
 * event-loop turn. Emptied by count, not by `length = 0`: V8 gives the backing store back
 * when an array's length drops to 0, and the next push made a new one (~150 bytes) per turn.
 */
const dirty: (SocketSink | undefined)[] = [];
let dirtyCount = 0;
let flushScheduled = false;

/**
 * A read's writes go out at the end of its callback (`endRead`) rather than from the turn's
 * Immediate when it looks like the only read of its wake-up: at a moderate rate (issue #17:
 * 10k msg/s evenly spaced is one message per wake-up) the Immediate cost ~280 B per message
 * (its object and Node's async-context bookkeeping around its callback) for nothing to batch.
 *
 * Which reads share a wake-up: the event loop's idle time (`performance.nodeTiming.idleTime`,
 * the time libuv spent blocked waiting for events) does not move between them. A read after
 * another of its wake-up is batched (one write per socket for the wake-up, as before), and so
 * are all the reads of a wake-up that follows one of {@link BURST_READS} reads or more: when
 * reads come in bursts (or the loop never waits, as under saturation) each burst is written
 * once, as before, and only a burst's first read after quiet ones goes out on its own. Two
 * reads do not make a burst: a QoS 1 subscriber's PUBACK can come back over loopback before
 * the loop waits again, so the idle time has not moved although it is the next exchange.
 */
const BURST_READS = 3;
const timing = performance.nodeTiming;
/** Wake-ups of fewer than BURST_READS reads in a row before reads go out on their own. */
const QUIET_WAKEUPS = 4;
const reads = { direct: false, idle: -1.5, count: 0, quiet: 0 };

/** The transport is about to hand one socket's read to the core. */
export function beginRead(): void {
  const idle = timing.idleTime;
  if (idle === reads.idle || flushScheduled) {
    // Another read of this wake-up, or a flush already due: written with it by the Immediate.
    reads.count++;
    reads.direct = false;
    return;
  }
  reads.idle = idle;
  reads.quiet = reads.count < BURST_READS ? reads.quiet + 1 : 0;
  reads.direct = reads.quiet >= QUIET_WAKEUPS;
  reads.count = 1;
}

/** The core has handled the read: its writes go out now if it was read alone. */
export function endRead(): void {
  if (!reads.direct) return;
  reads.direct = false;
  if (dirtyCount > 0) flushAll();
}

function flushAll(): void {
  flushScheduled = false;
  // A flush may (through a synchronous error path) write again: the loop takes newcomers.
  for (let i = 0; i < dirtyCount; i++) {
    const sink = dirty[i]!;
    dirty[i] = undefined;
    sink.flush();
  }
  dirtyCount = 0;
}

/**
 * A sink's wait for its socket to drain: one object made on first use, since most sockets
 * never need it, instead of three fields on every sink (16 B per idle connection).
 */
interface DrainWatch {
  /** The core's callback for when everything written has left (see notifyWhenDrained). */
  waiter: (() => void) | undefined;
  /** Listens for the socket's 'drain'. */
  readonly listener: () => void;
  watching: boolean;
}

/** Wraps a socket as the core's byte sink. */
export class SocketSink implements ConnectionSink {
  /**
   * Pending chunks: one Buffer, or several in write order. A lone chunk (every write at a
   * low message rate) is held without an array: an emptied array lost its backing store
   * (see `dirty`) and allocated a new one for each write.
   */
  private pending: Buffer | Buffer[] | undefined;
  private pendingBytes = 0;
  private drain: DrainWatch | undefined;

  constructor(private readonly socket: Socket) {}

  write(data: Buffer): void {
    if (this.socket.destroyed) return;
    if (this.pendingBytes === 0) {
      dirty[dirtyCount++] = this;
      // A read taken alone is flushed at its end (endRead), without an Immediate.
      if (!flushScheduled && !reads.direct) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
    const pending = this.pending;
    if (pending === undefined) this.pending = data;
    else if (Array.isArray(pending)) pending.push(data);
    else this.pending = [pending, data];
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
    if (!pauseSharedReads(this.socket)) this.socket.pause();
  }

  resume(): void {
    if (!resumeSharedReads(this.socket)) this.socket.resume();
  }

  notifyWhenDrained(drained: () => void): void {
    const drain = (this.drain ??= {
      waiter: undefined,
      listener: () => this.socketDrained(),
      watching: false,
    });
    drain.waiter = drained;
    // Pending bytes are watched for once flush() has handed them to the socket.
    if (this.pendingBytes === 0) this.watchDrain(drain);
  }

  end(): void {
    if (this.socket.destroyed) return;
    this.flush();
    readUntilPeerCloses(this.socket);
    this.socket.end();
    // A peer that never closes its side must not hold the socket forever.
    setTimeout(() => this.socket.destroy(), END_GRACE_MS).unref();
  }

  /** Writes what is pending to the socket (called by the shared flush). */
  flush(): void {
    const pending = this.pending;
    const bytes = this.pendingBytes;
    if (pending === undefined) return;
    this.pendingBytes = 0;
    this.pending = undefined;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (!Array.isArray(pending)) {
      socket.write(pending);
    } else if (bytes <= COALESCE_MAX_BYTES) {
      socket.write(Buffer.concat(pending, bytes));
    } else {
      socket.cork();
      writeCoalesced(socket, pending);
      socket.uncork();
    }
    const drain = this.drain;
    if (drain?.waiter !== undefined) this.watchDrain(drain);
  }

  /**
   * Waits for the socket to take what it queued: its 'drain' when a write returned false,
   * otherwise the next turn (the bytes are with the kernel already).
   */
  private watchDrain(drain: DrainWatch): void {
    if (drain.watching) return;
    drain.watching = true;
    if (this.socket.writableNeedDrain) this.socket.once('drain', drain.listener);
    else setImmediate(drain.listener);
  }

  private socketDrained(): void {
    const drain = this.drain as DrainWatch;
    drain.watching = false;
    const waiter = drain.waiter;
    if (waiter === undefined || this.socket.destroyed) {
      drain.waiter = undefined;
      return;
    }
    if (this.pendingBytes > 0) return; // flush() watches again after handing them over
    if (this.socket.writableNeedDrain) {
      this.watchDrain(drain);
      return;
    }
    drain.waiter = undefined;
    waiter();
  }
}

/**
 * Writes `chunks` (to a corked socket): runs of consecutive chunks below
 * {@link SMALL_CHUNK_BYTES} copied into buffers of up to {@link COALESCE_MAX_BYTES}, other
 * chunks as they are.
 */
function writeCoalesced(socket: Socket, chunks: Buffer[]): void {
  let runStart = 0;
  let runBytes = 0;
  for (let i = 0; i < chunks.length; i++) {
    const size = chunks[i]!.length;
    if (size < SMALL_CHUNK_BYTES && runBytes + size <= COALESCE_MAX_BYTES) {
      runBytes += size;
      continue;
    }
    writeRun(socket, chunks, runStart, i, runBytes);
    if (size < SMALL_CHUNK_BYTES) {
      runStart = i;
      runBytes = size;
    } else {
      socket.write(chunks[i]!);
      runStart = i + 1;
      runBytes = 0;
    }
  }
  writeRun(socket, chunks, runStart, chunks.length, runBytes);
}

/** Writes chunks[start..end) as one buffer (a copy only when there are several). */
function writeRun(
  socket: Socket,
  chunks: Buffer[],
  start: number,
  end: number,
  bytes: number,
): void {
  if (end - start === 1) socket.write(chunks[start]!);
  else if (end > start) socket.write(Buffer.concat(chunks.slice(start, end), bytes));
}
