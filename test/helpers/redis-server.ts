/**
 * Test helper: a real `redis-server` (the Debian package) on a free loopback port, with its
 * own data directory, for the Redis store's tests and, later, the cluster's. It runs with
 * the settings the Redis store documents for durability: no RDB snapshots (`--save ''`),
 * `appendonly yes` and `appendfsync always`, so what a commit acknowledged survives a kill -9
 * of Redis itself. `kill()` and `start()` stop and restart it on the same port and data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onFreePort } from './ports.js';

export { freePort } from './ports.js';

/** A redis-server the test controls. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Its data directory (the AOF is in it). */
  readonly dir: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Starts it again (same port, same data) after `kill` or `stop`. */
  start(): Promise<void>;
  /** SIGKILL: Redis gets no chance to write anything more. */
  kill(): Promise<void>;
  /** SIGTERM, then waits for it to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Stops it and removes its data directory. */
  destroy(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** More `redis-server` arguments (`['--maxmemory', '2mb']`, `['--replicaof', ...]`). */
  args?: string[];
}

/**
 * Starts a redis-server on a free port with a fresh data directory (a port taken after all is
 * tried again with another: test/helpers/ports.ts).
 */
export function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  return onFreePort((port) => startOn(port, options));
}

async function startOn(port: number, options: RedisServerOptions): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'pipit-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (server.running) return;
      child = await spawnReady(args, port);
    },
    async kill() {
      if (child !== undefined) await signal(child, 'SIGKILL');
    },
    async stop() {
      if (child !== undefined) await signal(child, 'SIGTERM');
    },
    async destroy() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}

/** Spawns redis-server and resolves once it accepts connections (its log says so). */
function spawnReady(args: string[], port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} did not start in 10 s:\n${log}`));
    }, 10_000);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining its log
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run redis-server (is it installed?): ${err.message}`));
    });
    // 'close', not 'exit': its log is all read then ("Address already in use").
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`redis-server on port ${port} exited (${code}) before it was ready:\n${log}`),
      );
    });
  });
}

/** Sends `sig` and waits for the process to exit (SIGKILL after 5 s). */
function signal(child: ChildProcess, sig: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(sig);
  });
}
