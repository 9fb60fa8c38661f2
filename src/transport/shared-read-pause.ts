/**
 * Pause, resume and end for a socket reading into the shared buffer (shared-read-buffer.ts),
 * with the semantics of a Node stream socket, which the core relies on.
 *
 * A paused Node stream keeps reading until its high-water mark (16 KiB) is buffered, so a
 * connection held by the core (an async step such as an authentication hook, or output
 * backpressure) still sees its peer's close: `AuthenticateRequest.closed` turns true, a
 * held publisher that left is closed. In `onread` mode Node's pause() stops reading at once,
 * FIN included. So a pause here first keeps reading, holding copies of what comes (the shared
 * buffer is reused), and stops only once that much is held; resume hands the held bytes to
 * the connection, in order, before anything read later. Memory held per paused connection
 * is bounded as before.
 */
import type { Socket } from 'node:net';
import {
  type SharedReadCallback,
  setSharedReadCallback,
  sharedReadCallback,
} from './shared-read-buffer.js';

/** Bytes a paused socket still reads (and holds) before it stops reading: Node's default. */
const PAUSED_READ_BYTES = 16 * 1024;

/** The state of a paused socket: made on pause, dropped on resume. */
interface PausedReads {
  /** The connection's read callback, back in place on resume. */
  readonly onRead: SharedReadCallback;
  /** Copies of what was read while paused, oldest first. */
  chunks: Buffer[];
  bytes: number;
}

const kPaused = Symbol('pipit.pausedReads');

type PausableSocket = Socket & { [kPaused]?: PausedReads | undefined };

/** The read callback while paused: holds a copy, and stops reading once enough is held. */
function holdRead(this: PausableSocket, bytes: number, buffer: Buffer): void {
  const paused = this[kPaused];
  if (paused === undefined) return;
  paused.chunks.push(Buffer.from(buffer.subarray(0, bytes)));
  paused.bytes += bytes;
  if (paused.bytes >= PAUSED_READ_BYTES) this.pause();
}

/**
 * Pauses a socket in the shared-buffer mode (see the file's comment). Returns false for a
 * socket read through 'data' events: the caller pauses it the usual way.
 */
export function pauseSharedReads(socket: Socket): boolean {
  const s = socket as PausableSocket;
  if (s[kPaused] !== undefined) return true;
  const onRead = sharedReadCallback(socket);
  if (onRead === undefined) return false;
  s[kPaused] = { onRead, chunks: [], bytes: 0 };
  setSharedReadCallback(socket, holdRead);
  return true;
}

/**
 * Resumes a socket paused by {@link pauseSharedReads}: the bytes held meanwhile go to the
 * connection first, in order; if it pauses again while taking them, the rest stays held.
 * Returns false for a socket read through 'data' events.
 */
export function resumeSharedReads(socket: Socket): boolean {
  const s = socket as PausableSocket;
  const paused = s[kPaused];
  if (paused === undefined) return sharedReadCallback(socket) !== undefined;
  s[kPaused] = undefined;
  setSharedReadCallback(socket, paused.onRead);
  if (socket.isPaused()) socket.resume(); // reads come in later callbacks, after these
  const { chunks } = paused;
  for (let i = 0; i < chunks.length; i++) {
    // Read again each time: taking a chunk may pause the socket (TypeScript cannot see it).
    const again = s[kPaused] as PausedReads | undefined;
    if (again !== undefined) {
      // Paused again by what it just took: the rest waits, ahead of anything read later.
      const rest = chunks.slice(i);
      again.chunks = rest;
      for (const chunk of rest) again.bytes += chunk.length;
      if (again.bytes >= PAUSED_READ_BYTES) socket.pause();
      return true;
    }
    const chunk = chunks[i]!;
    paused.onRead.call(socket, chunk.length, chunk);
  }
  return true;
}

const kReadAfterEnd = Symbol('pipit.readAfterEnd');

type EndedSocket = Socket & { [kReadAfterEnd]?: number };

function dropRead(): void {}

function dropUpToLimit(this: EndedSocket, bytes: number): void {
  const total = (this[kReadAfterEnd] ?? 0) + bytes;
  this[kReadAfterEnd] = total;
  if (total >= PAUSED_READ_BYTES) this.pause();
}

/**
 * For a socket the broker is ending: what it still reads is dropped, and it reads on until
 * the peer closes, as a stream socket does. A paused one reads again, but only up to
 * {@link PAUSED_READ_BYTES} (a paused stream's buffer), so that a peer that stopped sending
 * is seen closing and one that floods is not read for the whole grace before the socket is
 * destroyed. A no-op for a socket read through 'data' events.
 */
export function readUntilPeerCloses(socket: Socket): void {
  const s = socket as PausableSocket;
  if (sharedReadCallback(socket) === undefined) return;
  const paused = s[kPaused] !== undefined || socket.isPaused();
  s[kPaused] = undefined;
  if (paused) {
    setSharedReadCallback(socket, dropUpToLimit);
    if (socket.isPaused()) socket.resume();
  } else {
    setSharedReadCallback(socket, dropRead);
  }
}
