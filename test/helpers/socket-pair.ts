/**
 * Connected loopback TCP pairs for tests that drive a socket wrapper directly: one listening
 * server per test file, a pair per test.
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback server that hands out connected pairs. */
export class SocketPairs {
  private constructor(private readonly server: Server) {}

  /** Listens on a free loopback port. */
  static async listen(): Promise<SocketPairs> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new SocketPairs(server);
  }

  /** A connected pair: the server side (`near`, what the code under test wraps) and the client side (`far`). */
  async pair(): Promise<{ near: Socket; far: Socket }> {
    const { port } = this.server.address() as AddressInfo;
    const accepted = once(this.server, 'connection') as Promise<[Socket]>;
    const far = connect(port, '127.0.0.1');
    await once(far, 'connect');
    const [near] = await accepted;
    return { near, far };
  }

  /** Stops listening (pairs still open are the tests' to end). */
  close(): Promise<void> {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
