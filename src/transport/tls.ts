/**
 * The TLS listener (mqtts://): a TCP listener behind node:tls, with optional mutual TLS. A
 * handshake not done within the connect timeout, or failed, closes its socket.
 */
import { createServer, type TLSSocket } from 'node:tls';
import type { BrokerCore } from '../core/index.js';
import { capConnections } from './connection-cap.js';
import { closeFailedTlsHandshakes, tlsHandshakeOptions } from './handshake-timeout.js';
import type { Listener, ListenerAddress } from './listener.js';
import { closeServer, listenServer, trackSockets } from './listener.js';
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
  /** Open sockets on this listener (handshakes included); more are closed at once. */
  maxConnections?: number | undefined;
  tls: TlsOptions;
}

/** Starts a TLS listener that feeds `core`. */
export async function startTlsListener(
  core: BrokerCore,
  options: TlsListenerOptions,
): Promise<Listener> {
  const name = options.name ?? 'tls';
  const { tls } = options;
  const serverOptions = { ...(await loadServerTlsOptions(tls)), ...tlsHandshakeOptions(core) };
  const server = createServer(serverOptions, (socket: TLSSocket) => {
    attachStreamSocket(
      core,
      socket,
      {
        remoteAddress: socket.remoteAddress,
        listener: name,
        certificateIdentity: certificateIdentity(socket, tls.identityFrom),
        identityAsUsername: tls.useIdentityAsUsername,
      },
      { sharedReadBuffer: true },
    );
  });
  const sockets = trackSockets(server);
  closeFailedTlsHandshakes(server, core, name);
  capConnections(server, core, name, options.maxConnections);
  const address: ListenerAddress = await listenServer(server, options.port, options.host, 'mqtts');
  return {
    name,
    address,
    close: () => closeServer(server, sockets),
    reloadTls: async () => server.setSecureContext(await loadSecureContextOptions(tls)),
  };
}
