/**
 * A TCP proxy in front of a server (a redis-server) that can lose a reply: armed with a byte
 * pattern, the next chunk a client sends that holds it goes through to the server, the
 * server's reply to it is swallowed, and the connection is cut both ways. The server ran the
 * command; the client never heard so, and a client that resends what was unanswered when its
 * connection dropped (ioredis's `autoResendUnfulfilledCommands`) runs it a second time: what
 * a network cut or a master killed right after its write does to a real client.
 */
import { once } from 'node:events';
import net from 'node:net';

/** A running proxy. */
export interface ReplyCutProxy {
  /** Where clients connect: `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Connections cut so far (one per armed pattern seen). */
  readonly cuts: number;
  /** Cuts the connection that next sends `pattern`, once its reply is back (one shot). */
  arm(pattern: string | Buffer): void;
  close(): Promise<void>;
}

/** Listens on a free loopback port and pipes every connection to 127.0.0.1:`port`. */
export async function startReplyCutProxy(port: number): Promise<ReplyCutProxy> {
  const sockets = new Set<net.Socket>();
  let armed: Buffer | undefined;
  let cuts = 0;
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port });
    /** This connection sent the armed pattern: the next reply is swallowed, then it is cut. */
    let cutting = false;
    const cut = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => {
        sockets.delete(s);
        cut();
      });
      s.on('error', cut);
    }
    inbound.on('data', (chunk: Buffer) => {
      if (armed !== undefined && chunk.includes(armed)) {
        armed = undefined;
        cutting = true;
      }
      outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      if (!cutting) {
        inbound.write(chunk);
        return;
      }
      // The server answered: it ran the command. Its reply is lost with the connection.
      cuts++;
      cut();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${address.port}`,
    get cuts() {
      return cuts;
    },
    arm(pattern) {
      armed = Buffer.from(pattern);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
