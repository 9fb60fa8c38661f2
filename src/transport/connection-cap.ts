/**
 * Connection caps at the socket: a socket over the broker's `maxConnections` (all listeners),
 * its listener's own `maxConnections` or `maxConnectionsPerAddress` is destroyed as soon as it is accepted, before a
 * byte is read, a TLS handshake is done or an HTTP upgrade is parsed. Answering an MQTT 5
 * client with CONNACK 0x97/0x9F instead would mean reading its CONNECT first (up to
 * maximumPacketSize bytes, for as long as the connect timeout), which is exactly the cost a
 * connection flood wants to impose; before the CONNECT the broker does not even know which
 * protocol version to answer in. Mosquitto's max_connections closes at once the same way.
 */
import type { Server, Socket } from 'node:net';
import type { BrokerCore } from '../core/index.js';

/** Where an admitted socket keeps the address key it is counted under (see ConnectionAdmission). */
const kAddressKey = Symbol('pipit.addressKey');

type AdmittedSocket = Socket & { [kAddressKey]?: string };

/**
 * Puts the caps in front of every 'connection' listener `server` has now (the TLS and HTTP
 * servers' own included), so call it after the server is fully set up and before it listens.
 * `maxConnections` is the listener's cap (undefined or 0: only the broker's applies).
 * `sockets`, when given, holds the admitted sockets until they close (for the listener's
 * close); tracking them here keeps one 'close' listener per socket instead of two.
 * `onClose`, when given, is called (with `this` = the socket) after the cap released a closed
 * socket: a listener that would otherwise be a second 'close' listener of every socket.
 */
export function capConnections(
  server: Server,
  core: BrokerCore,
  listener: string,
  maxConnections: number | undefined,
  sockets?: Set<Socket>,
  onClose?: (this: Socket) => void,
): void {
  const handlers = server.rawListeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  let open = 0;
  // Shared by every socket of the listener ('close' is emitted once): no closure per socket.
  function release(this: AdmittedSocket): void {
    open--;
    core.admission.release(this[kAddressKey]);
    sockets?.delete(this);
    onClose?.call(this);
  }
  server.on('connection', (socket: AdmittedSocket) => {
    const key = core.admission.admit(listener, open, maxConnections, socket.remoteAddress);
    if (key === false) {
      socket.destroy();
      return;
    }
    if (key !== null) socket[kAddressKey] = key;
    open++;
    sockets?.add(socket);
    socket.on('close', release);
    for (const handler of handlers) handler.call(server, socket);
  });
}
