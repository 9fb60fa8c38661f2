/**
 * The redis-server of the cluster benchmark (bench/cluster.bench.ts), without persistence: on
 * a free loopback port, or (`unix`) on a Unix socket in a fresh temporary directory with TCP
 * off (`--port 0`), for `pipit-2-unix`: the nodes then reach it as `unix://<path>`
 * (docs/cluster.md, "Redis over a Unix socket").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopChild, waitForPort } from './brokers.js';

const HOST = '127.0.0.1';

/** A running redis-server and how to reach it. */
export interface BenchRedis {
  child: ChildProcess;
  /** `redis://127.0.0.1:<port>` or `unix://<path>`. */
  url: string;
  /** The TCP port (0 on a Unix socket). */
  port: number;
  /** Stops the server and deletes the socket's directory. */
  stop(): Promise<void>;
}

/** Starts redis-server; resolves once it accepts connections. */
export async function startBenchRedis(cwd: string, unix: boolean): Promise<BenchRedis> {
  const dir = unix ? mkdtempSync(join(tmpdir(), 'pipit-bench-redis-')) : undefined;
  const path = dir === undefined ? undefined : join(dir, 'redis.sock');
  const port = path === undefined ? await freePort() : 0;
  const listen =
    path === undefined
      ? ['--port', String(port), '--bind', HOST]
      : ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700'];
  const child = spawn('redis-server', [...listen, '--save', '', '--appendonly', 'no'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-3000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async (): Promise<void> => {
    await stopChild(child);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  const alive = () => child.exitCode === null && child.signalCode === null;
  try {
    if (path === undefined) await waitForPort(port, 30_000, alive);
    else await waitForSocket(path, 30_000, alive);
  } catch (err) {
    await stop();
    throw new Error(`redis-server ${listen.join(' ')}: ${(err as Error).message}\n${tail}`);
  }
  const url = path === undefined ? `redis://${HOST}:${port}` : `unix://${path}`;
  return { child, url, port, stop };
}

/** Resolves once a connection to the Unix socket `path` succeeds. */
async function waitForSocket(path: string, timeoutMs: number, alive: () => boolean) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('exited during start-up');
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ path }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${path} after ${timeoutMs} ms`);
}
