/**
 * What every transport listener shares: its address and how it closes.
 */
import type { AddressInfo, Server, Socket } from 'node:net';

/** Where a listener accepts connections. */
export interface ListenerAddress {
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'http' | 'https';
  host: string;
  port: number;
  /** e.g. mqtt://127.0.0.1:1883 */
  url: string;
}

/** A running listener. */
export interface Listener {
  readonly name: string;
  readonly address: ListenerAddress;
  /** Stops accepting and waits for its sockets to close (destroying stragglers). */
  close(): Promise<void>;
  /**
   * TLS listeners only: re-reads the certificate, key and CA files. Open connections stay
   * up; new handshakes use the new files. On an error the old files stay in use.
   */
  reloadTls?(): Promise<void>;
}

/** Listens and resolves with the bound address (port 0 picks a free port). */
export function listenServer(
  server: Server,
  port: number,
  host: string | undefined,
  protocol: ListenerAddress['protocol'],
  path = '',
): Promise<ListenerAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const info = server.address() as AddressInfo;
      const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        protocol,
        host: info.address,
        port: info.port,
        url: `${protocol}://${shownHost}:${info.port}${path}`,
      });
    });
  });
}

/** Closes a server, giving open sockets a moment to flush before destroying them. */
export function closeServer(
  server: Server,
  sockets: Set<{ destroy(): void }>,
  graceMs = 1000,
): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Keeps the set of a server's raw sockets, so close() can also end connections still in
 * a TLS handshake or an HTTP exchange. Returns the set.
 */
export function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  function untrack(this: Socket): void {
    sockets.delete(this);
  }
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', untrack);
  });
  return sockets;
}
