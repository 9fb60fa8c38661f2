/**
 * The TLS listener (mqtts://): a TCP listener behind node:tls, with optional mutual TLS.
 */
import type { Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import type { BrokerCore } from '../core/index.js';
import type { Listener, ListenerAddress } from './listener.js';
import { closeServer, listenServer } from './listener.js';
import { attachStreamSocket } from './stream-connection.js';
import {
  certificateIdentity,
  loadSecureContextOptions,
  loadServerTlsOptions,
  type TlsOptions,
} from './tls-context.js';

/** Options of a TLS listener. */
export interface TlsListenerOptions {
  port: number;
  host?: string | undefined;
  /** Name used in logs and hooks; default 'tls'. */
  name?: string | undefined;
  tls: TlsOptions;
}

/** Starts a TLS listener that feeds `core`. */
export async function startTlsListener(
  core: BrokerCore,
  options: TlsListenerOptions,
): Promise<Listener> {
  const name = options.name ?? 'tls';
  const { tls } = options;
  const sockets = new Set<Socket>();
  const server = createServer(await loadServerTlsOptions(tls), (socket: TLSSocket) => {
    attachStreamSocket(core, socket, {
      remoteAddress: socket.remoteAddress,
      listener: name,
      certificateIdentity: certificateIdentity(socket, tls.identityFrom),
      identityAsUsername: tls.useIdentityAsUsername,
    });
  });
  // Track raw sockets, so close() can also end connections still in their handshake.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err, socket) => {
    core.logger.debug(
      { err: err.message, remoteAddress: socket.remoteAddress, listener: name },
      'TLS handshake failed',
    );
  });
  const address: ListenerAddress = await listenServer(server, options.port, options.host, 'mqtts');
  return {
    name,
    address,
    close: () => closeServer(server, sockets),
    reloadTls: async () => server.setSecureContext(await loadSecureContextOptions(tls)),
  };
}
