/**
 * Ports for the servers tests start in other processes (redis-server, mosquitto, `pipit
 * broker`), which must be told a port before they bind it. The one place tests get such a port.
 *
 * Why not "listen on port 0, read the port, close, hand it over": between that close and the
 * server's bind, anything else may take the port, and the server fails with "Address already
 * in use". The OS hands ports of its ephemeral range (Linux: 32768-60999) to every listen on
 * port 0 (another test file probing the same way, Pipit's embedded brokers) and to the local
 * end of every outgoing connection, and the runner runs test files in parallel.
 *
 * So, race-free by construction rather than by luck:
 * 1. Ports come from below the ephemeral range, which the OS never hands out by itself. (On a
 *    machine whose range starts below 30000, 3. and 4. still cover what 1. no longer does.)
 * 2. Each test process owns a block of {@link BLOCK_SIZE} ports there: it claims a block by
 *    listening on the block's first port for as long as it lives (the OS frees it when the
 *    process ends, however it ends), so two processes using this helper never share a port.
 *    Blocks lie in [10000, 20000): a Redis Cluster node's bus port (port + 10000) is then in
 *    [20000, 30000), still below the ephemeral range, and in no block.
 * 3. A port is still probed before it is handed out (a service outside this scheme may hold it).
 * 4. {@link onFreePort} starts a server again on another port if it failed with "Address
 *    already in use" all the same (a service that bound it after the probe).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';

const FIRST = 10_000;
const BLOCK_SIZE = 200;
const BLOCKS = 50; // FIRST + BLOCKS * BLOCK_SIZE = 20000
/** A Redis Cluster node also listens on its port + 10000 (the cluster bus). */
const BUS_OFFSET = 10_000;
const HOST = '127.0.0.1';

/** Listens on `port`; resolves with the server, or undefined if the port is taken. */
async function tryListen(port: number): Promise<Server | undefined> {
  const server = createServer();
  server.listen(port, HOST);
  // once() rejects on 'error' (EADDRINUSE, EACCES).
  return once(server, 'listening').then(
    () => server,
    () => undefined,
  );
}

/** True if `port` on 127.0.0.1 can be listened on now. */
async function isFree(port: number): Promise<boolean> {
  const server = await tryListen(port);
  if (server === undefined) return false;
  await new Promise((resolve) => server.close(resolve));
  return true;
}

/** The first port of this process's block (claimed once, on first use). */
let block: Promise<number> | undefined;
/** The next port of the block to try. */
let next = 0;

async function claimBlock(): Promise<number> {
  // Start at a block the pid picks, so processes rarely even try the same block.
  for (let i = 0; i < BLOCKS; i++) {
    const base = FIRST + ((process.pid + i) % BLOCKS) * BLOCK_SIZE;
    const lock = await tryListen(base);
    if (lock === undefined) continue; // another process's block
    lock.unref(); // held, and never keeps the process alive
    return base;
  }
  throw new Error(
    `no free block of ${BLOCK_SIZE} ports in ${FIRST}-${FIRST + BLOCKS * BLOCK_SIZE}`,
  );
}

/** Options of {@link freePort}. */
export interface FreePortOptions {
  /** Also needs port + 10000 free (a Redis Cluster node's bus port). */
  bus?: boolean;
}

/**
 * A loopback port of this process's block, free now and nobody else's to take (see the file's
 * comment). Calls cycle through the block: a port comes back only after the other 198 of it.
 */
export async function freePort(options: FreePortOptions = {}): Promise<number> {
  block ??= claimBlock();
  const base = await block;
  for (let tries = 0; tries < BLOCK_SIZE; tries++) {
    // Taken before the await: concurrent calls get different ports.
    const port = base + 1 + (next++ % (BLOCK_SIZE - 1));
    if (!(await isFree(port))) continue;
    if (options.bus && !(await isFree(port + BUS_OFFSET))) continue;
    return port;
  }
  throw new Error(`no free port left in ${base}-${base + BLOCK_SIZE - 1}`);
}

/** True if `err` says a bind failed because the port was taken (a Node or a server's log). */
export function isAddressInUse(err: unknown): boolean {
  return /EADDRINUSE|Address already in use/i.test(String(err));
}

/**
 * Runs `start` on a free port and, if it fails with "Address already in use" (its error must
 * carry the server's log), again on another, up to 5 times. `start` cleans up after a failure.
 */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  options: FreePortOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(options);
    try {
      return await start(port);
    } catch (err) {
      if (attempt >= 5 || !isAddressInUse(err)) throw err;
    }
  }
}
