/**
 * Hands one accepted stream socket (TCP or TLS) to the core: bytes in, close and errors.
 */
import type { Socket } from 'node:net';
import type { BrokerCore, Connection, ConnectionInfo } from '../core/index.js';
import { SocketSink } from './socket-sink.js';

/** Where a socket keeps its core Connection, so the listeners below can be shared. */
const kConnection = Symbol('pipit.connection');

type AttachedSocket = Socket & { [kConnection]: Connection };

// One set of listener functions for every socket (called with `this` = the socket), rather
// than three closures per connection: an idle connection costs less heap.
function onData(this: AttachedSocket, chunk: Buffer): void {
  this[kConnection].receive(chunk);
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

/**
 * Connects a socket to a new core Connection. `listenClose` false: the caller already has a
 * 'close' listener on this socket that calls `closeStreamSocket` (the TCP listener's cap):
 * a second listener would make Node keep an array of listeners per socket (64 B).
 */
export function attachStreamSocket(
  core: BrokerCore,
  socket: Socket,
  info: ConnectionInfo,
  listenClose = true,
): void {
  socket.setNoDelay(true);
  const attached = socket as AttachedSocket;
  attached[kConnection] = core.openConnection(new SocketSink(socket), info);
  socket.on('data', onData);
  socket.on('error', onError);
  if (listenClose) socket.on('close', closeStreamSocket);
}
