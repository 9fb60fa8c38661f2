/**
 * The plain TCP listener (mqtt://).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { BrokerCore } from '../core/index.js';
import { capConnections } from './connection-cap.js';
import type { Listener, ListenerAddress } from './listener.js';
import { closeServer, listenServer } from './listener.js';
import { attachStreamSocket, closeStreamSocket } from './stream-connection.js';

/** Options of a TCP listener. */
export interface TcpListenerOptions {
  port: number;
  host?: string;
  /** Name used in logs and hooks; default 'tcp'. */
  name?: string;
  /** Open sockets on this listener; more are closed at once. Default: no listener cap. */
  maxConnections?: number | undefined;
}

/** Starts a TCP listener that feeds `core`. */
export async function startTcpListener(
  core: BrokerCore,
  options: TcpListenerOptions,
): Promise<Listener> {
  const name = options.name ?? 'tcp';
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    attachStreamSocket(
      core,
      socket,
      { remoteAddress: sharedAddress(socket.remoteAddress), listener: name },
      { listenClose: false, sharedReadBuffer: true },
    );
    forgetPeerName(socket);
  });
  // The cap's 'close' listener also closes the Connection: one listener per socket.
  capConnections(server, core, name, options.maxConnections, sockets, closeStreamSocket);
  const address: ListenerAddress = await listenServer(server, options.port, options.host, 'mqtt');
  return { name, address, close: () => closeServer(server, sockets) };
}

/** The remote address of the connection accepted last (see sharedAddress). */
let lastAddress: string | undefined;

/**
 * The address string of the connection accepted before when `address` is the same: each
 * socket's address is a new string (32 B for an IPv4 address), held by its ClientInfo while
 * the connection lasts, and clients behind one address (a NAT, a proxy, a load generator)
 * tend to connect in runs.
 */
function sharedAddress(address: string | undefined): string | undefined {
  if (address === lastAddress) return lastAddress;
  lastAddress = address;
  return address;
}

/**
 * Lets go of the `{ address, family, port }` object Node caches on a socket once its
 * `remoteAddress` was read (`_peername`, 56 B per idle connection): the client's ClientInfo
 * holds the address string, and nothing reads the socket's address again. Were it read, Node
 * would ask the kernel again (getpeername) while the socket is open. The field is Node's own;
 * it is only written when Node made it, so a Node without it is left as it is.
 */
function forgetPeerName(socket: Socket): void {
  const cached = socket as Socket & { _peername?: unknown };
  if (cached._peername !== undefined) cached._peername = undefined;
}
