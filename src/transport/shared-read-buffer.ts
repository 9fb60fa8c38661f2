/**
 * Reads every TCP socket into one shared buffer (Node's `onread` mode, which `net.Server`
 * does not offer for accepted sockets), instead of Node's default of a new ArrayBuffer per
 * read pushed through the socket's Readable.
 *
 * Why: at a moderate message rate each message is its own read. The default path allocates
 * per read an ArrayBuffer with its own backing store, a Buffer view, and a `process.nextTick`
 * (Readable's maybeReadMore). The ArrayBuffers are what makes V8's scavenges slow: each
 * young one is swept (its backing store freed) inside the pause, which at 10k msg/s was half
 * of each scavenge's pause (`--trace-gc-nvp`: sweep_array_buffers 0.67 of 1.4 ms), and the
 * pauses are the latency tail (bench/RESULTS.md). With one buffer, a read allocates nothing.
 *
 * Sharing one buffer between sockets is safe because Node hands a read to JavaScript
 * synchronously and the next read of any socket comes in a later callback; the decoder
 * copies every byte it keeps (it is written for transports that reuse chunks).
 *
 * It relies on Node internals: the socket's own `kBuffer`/`kBufferCb`/`kBufferGen` symbols
 * (the `onread` option of `net.Socket`) and its handle's `useUserBuffer`. They are looked up
 * by name once; if any is missing (another Node version), sockets are read the default way
 * and {@link sharedReadBufferAvailable} says so.
 */
import { Socket } from 'node:net';

/** Size of the shared read buffer: Node's own read size. */
const READ_BUFFER_BYTES = 64 * 1024;

interface OnreadSymbols {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/** The `onread` symbols of this Node's sockets, or undefined when they cannot be found. */
const symbols: OnreadSymbols | undefined = findOnreadSymbols();

let shared: Buffer | undefined;

function findOnreadSymbols(): OnreadSymbols | undefined {
  const probe = new Socket();
  const byName = new Map<string, symbol>();
  for (const sym of Object.getOwnPropertySymbols(probe)) {
    if (sym.description !== undefined) byName.set(sym.description, sym);
  }
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  if (buffer === undefined || callback === undefined || generator === undefined) return undefined;
  return { buffer, callback, generator };
}

/** True when this Node lets accepted sockets read into the shared buffer. */
export function sharedReadBufferAvailable(): boolean {
  return symbols !== undefined;
}

type Handle = { useUserBuffer?: (buffer: Uint8Array) => void; reading?: boolean };

/** What a socket calls for each read in this mode (Node's `onread` callback). */
export type SharedReadCallback = (this: Socket, bytes: number, buffer: Buffer) => void;

/** The read callback of a socket reading into the shared buffer; undefined for any other. */
export function sharedReadCallback(socket: Socket): SharedReadCallback | undefined {
  if (symbols === undefined || shared === undefined) return undefined;
  const target = socket as unknown as Record<symbol, unknown>;
  if (target[symbols.buffer] !== shared) return undefined;
  return target[symbols.callback] as SharedReadCallback;
}

/** Replaces the read callback of a socket reading into the shared buffer. */
export function setSharedReadCallback(socket: Socket, callback: SharedReadCallback): void {
  if (symbols === undefined) return;
  (socket as unknown as Record<symbol, unknown>)[symbols.callback] = callback;
}

/**
 * Makes `socket` read into the shared buffer and call `onRead` (with `this` = the socket)
 * for each read, in place of 'data' events. Returns false, changing nothing, when that
 * cannot be done (internals missing, no handle, or bytes already buffered in the Readable):
 * the caller then listens for 'data'.
 */
export function readIntoSharedBuffer(socket: Socket, onRead: SharedReadCallback): boolean {
  const handle = (socket as unknown as { _handle?: Handle })._handle;
  if (symbols === undefined || handle?.useUserBuffer === undefined) return false;
  if (socket.readableLength > 0) return false;
  shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  const target = socket as unknown as Record<symbol, unknown>;
  target[symbols.buffer] = shared;
  target[symbols.callback] = onRead;
  target[symbols.generator] = null;
  handle.useUserBuffer(shared);
  // Flowing mode, so that the Readable emits 'end' when the peer closes (the EOF still goes
  // through it) and pause()/resume() stop and start the handle's reads. The core's pause
  // and resume go through shared-read-pause.ts.
  socket.resume();
  return true;
}
