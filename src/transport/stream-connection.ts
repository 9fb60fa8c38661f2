/**
 * Hands one accepted stream socket (TCP or TLS) to the core: bytes in, close and errors.
 */
import type { Socket } from 'node:net';
import type { BrokerCore, ConnectionInfo } from '../core/index.js';
import { SocketSink } from './socket-sink.js';

/** Connects a socket to a new core Connection. */
export function attachStreamSocket(core: BrokerCore, socket: Socket, info: ConnectionInfo): void {
  socket.setNoDelay(true);
  const conn = core.openConnection(new SocketSink(socket), info);
  socket.on('data', (chunk: Buffer) => conn.receive(chunk));
  socket.on('error', (err) => {
    core.logger.debug(
      { err: err.message, clientId: conn.client.clientId || undefined },
      'socket error',
    );
  });
  socket.on('close', () => conn.transportClosed());
}
