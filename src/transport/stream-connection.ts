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

function onClose(this: AttachedSocket): void {
  this[kConnection].transportClosed();
}

/** Connects a socket to a new core Connection. */
export function attachStreamSocket(core: BrokerCore, socket: Socket, info: ConnectionInfo): void {
  socket.setNoDelay(true);
  const attached = socket as AttachedSocket;
  attached[kConnection] = core.openConnection(new SocketSink(socket), info);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
}
