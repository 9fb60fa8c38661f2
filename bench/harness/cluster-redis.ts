/**
 * The redis-server of the cluster benchmark (bench/cluster.bench.ts), without persistence: on
 * a free loopback port, or (`unix`) on a Unix socket in a fresh temporary directory with TCP
 * off (`--port 0`), for `pipit-2-unix`: the nodes then reach it as `unix://<path>`
 * (docs/cluster.md, "Redis over a Unix socket"); or as a replica of another, for the
 * `cluster.wait` setup.
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

/**
 * Starts redis-server; resolves once it accepts connections. `replicaOf`: the TCP port of a
 * master on the loopback this one replicates (`--replicaof`).
 */
export async function startBenchRedis(
  cwd: string,
  unix: boolean,
  replicaOf?: number,
): Promise<BenchRedis> {
  // Its own directory: a replica writes the master's snapshot there (dump.rdb) even with
  // persistence off, and the socket goes there.
  const dir = mkdtempSync(join(tmpdir(), 'pipit-bench-redis-'));
  const path = unix ? join(dir, 'redis.sock') : undefined;
  const port = path === undefined ? await freePort() : 0;
  const listen =
    path === undefined
      ? ['--port', String(port), '--bind', HOST]
      : ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700'];
  const replica = replicaOf === undefined ? [] : ['--replicaof', HOST, String(replicaOf)];
  const child = spawn(
    'redis-server',
    [...listen, ...replica, '--dir', dir, '--save', '', '--appendonly', 'no'],
    {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-3000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
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

/**
 * Resolves once the master on `port` counts `replicas` replicas that are online and caught up
 * (INFO replication: `slaveN:...,state=online,...`), so that a `WAIT` can be answered.
 */
export async function waitForReplicas(port: number, replicas: number, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = await redisCommand(port, 'INFO replication');
    const online = info.split('\n').filter((l) => /^slave\d+:.*state=online/.test(l)).length;
    if (online >= replicas) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the master on port ${port} has fewer than ${replicas} online replicas`);
}

/** One inline command to the server on `port`; its reply as text (enough for INFO). */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST, () => socket.write(`${command}\r\n`));
    let reply = '';
    socket.on('data', (b: Buffer) => {
      reply += b.toString();
      // A bulk string: `$<length>\r\n<body>\r\n`; done once the body is all here.
      const header = /^\$(\d+)\r\n/.exec(reply);
      if (header && Buffer.byteLength(reply) >= header[0].length + Number(header[1]) + 2) {
        socket.end();
        resolve(reply.slice(header[0].length));
      }
    });
    socket.once('error', reject);
  });
}
