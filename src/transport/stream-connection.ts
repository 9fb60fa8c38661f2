/**
 * Hands one accepted stream socket (TCP or TLS) to the core: bytes in, close and errors.
 */
import type { Socket } from 'node:net';
import type { BrokerCore, Connection, ConnectionInfo } from '../core/index.js';
import { readIntoSharedBuffer } from './shared-read-buffer.js';
import { beginRead, endRead, SocketSink } from './socket-sink.js';

/** Where a socket keeps its core Connection, so the listeners below can be shared. */
const kConnection = Symbol('pipit.connection');

type AttachedSocket = Socket & { [kConnection]: Connection };

// One set of listener functions for every socket (called with `this` = the socket), rather
// than three closures per connection: an idle connection costs less heap.
function onData(this: AttachedSocket, chunk: Buffer): void {
  beginRead();
  try {
    this[kConnection].receive(chunk);
  } finally {
    endRead();
  }
}

/** A read into the shared buffer (see shared-read-buffer.ts): its first `bytes` are new. */
function onSharedRead(this: Socket, bytes: number, buffer: Buffer): void {
  beginRead();
  try {
    (this as AttachedSocket)[kConnection].receive(buffer, bytes);
  } finally {
    endRead();
  }
}

function onError(this: AttachedSocket, err: Error): void {
  const conn = this[kConnection];
  conn.core.logger.debug(
    { err: err.message, clientId: conn.client.clientId || undefined },
    'socket error',
  );
}

/**
 * Tells the socket's Connection that the socket closed (a 'close' listener, `this` = the
 * socket; a no-op for a socket that never got a Connection).
 */
export function closeStreamSocket(this: Socket): void {
  (this as Partial<AttachedSocket>)[kConnection]?.transportClosed();
}

/** How {@link attachStreamSocket} wires a socket. */
export interface AttachOptions {
  /**
   * False when the caller already has a 'close' listener on this socket that calls
   * `closeStreamSocket` (the TCP listener's cap): a second listener would make Node keep an
   * array of listeners per socket (64 B). Default true.
   */
  listenClose?: boolean;
  /**
   * Read into the buffer shared by all sockets (shared-read-buffer.ts) rather than through
   * 'data' events (TCP and TLS sockets: a TLS socket's handle hands over the decrypted bytes
   * the same way). Default false.
   */
  sharedReadBuffer?: boolean;
}

/** Connects a socket to a new core Connection. */
export function attachStreamSocket(
  core: BrokerCore,
  socket: Socket,
  info: ConnectionInfo,
  options: AttachOptions = {},
): void {
  socket.setNoDelay(true);
  const attached = socket as AttachedSocket;
  attached[kConnection] = core.openConnection(new SocketSink(socket), info);
  if (!(options.sharedReadBuffer === true && readIntoSharedBuffer(socket, onSharedRead))) {
    socket.on('data', onData);
  }
  socket.on('error', onError);
  if (options.listenClose !== false) socket.on('close', closeStreamSocket);
}
