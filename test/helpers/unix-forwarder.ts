/**
 * A Unix domain socket that forwards each connection to a TCP port: lets a test reach a
 * broker that listens on TCP only through a socket path (`--unix`, `socketPath`).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running forwarder. */
export interface UnixForwarder {
  path: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

/** Listens on a fresh socket path and pipes every connection to 127.0.0.1:`port`. */
export async function forwardUnixToTcp(port: number): Promise<UnixForwarder> {
  const dir = mkdtempSync(join(tmpdir(), 'pipit-unix-'));
  const path = join(dir, 'broker.sock');
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((inbound) => {
    accepted++;
    const outbound = net.connect({ host: '127.0.0.1', port });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  server.listen(path);
  await once(server, 'listening');
  return {
    path,
    get accepted() {
      return accepted;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
