/**
 * The floor under a Node broker's connection rate (issue #17: "at least Mosquitto's
 * connection rate"): the broker CPU one connection costs (accept, CONNECT read, CONNACK
 * write, later the close) and the connects/s that gives, for Mosquitto, Pipit and a Node
 * process that does nothing but answer each CONNECT with a fixed CONNACK (`net.Server`,
 * TCP_NODELAY at accept, no MQTT parsing, no session, no log). Each server runs pinned to
 * core 0, mqtt-load (bench/tools/mqtt-load, C) on core 1 opens `count` connections with 50
 * CONNECTs in flight, holds them 2 s, closes them; the server's CPU (utime + stime from
 * /proc) over that whole time is divided by the connections. Rounds alternate the servers.
 * Figures are printed, never asserted.
 *
 * With `PIPIT_BASE_MAIN=<dir>/cli/main.js` a second Pipit build (`pipit-base`, e.g. main's dist
 * copied into .tmp/) runs in the same rounds, so a change's before and after share the machine's
 * state; `CONN_FLOOR_SERVERS=pipit,pipit-base` picks the servers.
 *
 * With `CONN_FLOOR_WARM=<n>` each server first serves n connections (opened, CONNACKed, closed
 * by mqtt-load), then settles 2 s before it is measured: the warm server's cost, without the
 * JIT warm-up a fresh Node process pays for its first few thousand connections.
 *
 *   node --import tsx bench/conn-floor.bench.ts [count] [rounds]   (default: 10000 3)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, mosquittoPath, which } from './harness/brokers.js';
import { prepareCLoad } from './harness/c-load.js';
import { readCpuMs } from './harness/proc-stats.js';
import { median } from './harness/summary.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const count = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 3);
const warm = Number(process.env.CONN_FLOOR_WARM ?? 0);

/** The bare Node server: a fixed CONNACK for whatever comes. */
const FLOOR_SOURCE = `
import net from 'node:net';
const CONNACK = Buffer.from([0x20, 2, 0, 0]);
const server = net.createServer({ noDelay: true }, (s) => {
  s.on('data', () => s.write(CONNACK));
  s.on('error', () => {});
});
server.listen(Number(process.argv[2]), '127.0.0.1');
`;

type Server = 'mosquitto' | 'pipit' | 'pipit-base' | 'node floor';

const baseMain = process.env.PIPIT_BASE_MAIN;

function command(server: Server, port: number, floorFile: string): [string, string[]] {
  if (server === 'mosquitto') return [mosquittoPath()!, ['-p', String(port)]];
  if (server === 'node floor') return [process.execPath, [floorFile, String(port)]];
  return [
    process.execPath,
    [
      '--max-semi-space-size=4',
      server === 'pipit-base' ? resolve(baseMain!) : join(root, 'dist/cli/main.js'),
      'broker',
      '--memory',
      '--port',
      String(port),
      '--log-level',
      'warn',
    ],
  ];
}

async function waitForPort(port: number): Promise<void> {
  const net = await import('node:net');
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((done) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        done(true);
      });
      s.on('error', () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

/**
 * `warm` connections made and closed by mqtt-load before the measurement (CONN_FLOOR_WARM),
 * then 2 s for the server to handle the closes (and for the loopback TIME_WAIT ports to be
 * reusable: tcp_tw_reuse = 2 reuses them after a second).
 */
async function warmUp(binary: string, port: number): Promise<void> {
  const load = spawn(
    which('taskset')!,
    ['-c', '1', binary, 'connect', '--port', String(port), '--count', String(warm)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise((r) => load.once('close', r));
  let text = '';
  load.stdout!.on('data', (b: Buffer) => {
    text += b.toString();
    if (text.includes('\n')) load.stdin!.end();
  });
  await exited;
  const connected = JSON.parse(text.split('\n')[0] || '{}') as { established?: number };
  if (connected.established !== warm) throw new Error(`warm-up: ${text.trim()}`);
  await new Promise((r) => setTimeout(r, 2000));
}

/** The server exited before it was measured (see runOnce). */
class PortLost extends Error {}

/** {@link runOnce}, started again (up to 3 times) when the server lost its port. */
async function sample(server: Server, binary: string, floorFile: string): Promise<Sample> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(server, binary, floorFile);
    } catch (err) {
      if (!(err instanceof PortLost) || attempt === 3) throw err;
    }
  }
}

/** One server's figures in one round. */
interface Sample {
  connectsPerSec: number;
  /** Broker CPU over the connect burst, the 2 s hold and the close, per connection. */
  cpuUsPerConn: number;
  /** Broker CPU until mqtt-load had every CONNACK, per connection. */
  connectUsPerConn: number;
}

async function runOnce(server: Server, binary: string, floorFile: string): Promise<Sample> {
  const port = await freePort();
  const [cmd, args] = command(server, port, floorFile);
  const child: ChildProcess = spawn(which('taskset')!, ['-c', '0', cmd, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  // A server that dies mid-run says why (its stderr), rather than an ENOENT on /proc.
  const cpuOf = (pid: number): number => {
    try {
      return readCpuMs(pid);
    } catch {
      throw new Error(`${server} exited: ${stderr.trim() || 'no output'}`);
    }
  };
  try {
    await waitForPort(port);
    await new Promise((r) => setTimeout(r, 300));
    // The port is picked from the ephemeral range, where mqtt-load's 10k connections of the
    // previous sample live: a server that lost it exits (EADDRINUSE), and what answered
    // waitForPort was someone else. The caller starts again on another port.
    if (child.exitCode !== null || child.signalCode !== null) throw new PortLost(stderr);
    if (warm > 0) await warmUp(binary, port);
    const cpu0 = cpuOf(child.pid!);
    const load = spawn(
      which('taskset')!,
      ['-c', '1', binary, 'connect', '--port', String(port), '--count', String(count)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => load.once('close', r));
    // The first line comes once every connection has settled; they stay open until stdin ends.
    const first = await new Promise<string>((done, fail) => {
      let text = '';
      load.stdout!.on('data', (b: Buffer) => {
        text += b.toString();
        if (text.includes('\n')) done(text.split('\n')[0]!);
      });
      load.once('close', () => fail(new Error(`mqtt-load ended: ${text}`)));
    });
    const cpuConnected = cpuOf(child.pid!);
    load.stdin!.end();
    await exited;
    // mqtt-load closed its connections: wait for the server to see them.
    await new Promise((r) => setTimeout(r, 2000));
    const cpuUs = (cpuOf(child.pid!) - cpu0) * 1000;
    const connected = JSON.parse(first) as {
      established: number;
      connectsPerSec: number;
      failed: number;
      timeouts: number;
      firstError: string;
    };
    if (connected.established !== count) {
      const { failed, timeouts, firstError } = connected;
      throw new Error(
        `${server}: ${connected.established} of ${count} connections made (failed ${failed}, timeouts ${timeouts}, first error: ${firstError || 'none'})`,
      );
    }
    return {
      connectsPerSec: connected.connectsPerSec,
      cpuUsPerConn: cpuUs / count,
      connectUsPerConn: ((cpuConnected - cpu0) * 1000) / count,
    };
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const tool = prepareCLoad(root);
  if (!('binary' in tool)) throw new Error(tool.missing);
  if (!which('taskset')) throw new Error('taskset is needed (util-linux)');
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root });
  const floorFile = join(tmpdir(), `pipit-conn-floor-${process.pid}.mjs`);
  writeFileSync(floorFile, FLOOR_SOURCE);
  const all: Server[] = [
    'node floor',
    'pipit',
    ...(baseMain ? ['pipit-base' as const] : []),
    'mosquitto',
  ];
  const picked = process.env.CONN_FLOOR_SERVERS?.split(',');
  const servers = picked ? all.filter((s) => picked.includes(s)) : all;
  const results = new Map<Server, Sample[]>();
  for (let round = 0; round < rounds; round++) {
    for (const server of servers) {
      const r = await sample(server, tool.binary, floorFile);
      results.set(server, [...(results.get(server) ?? []), r]);
      console.log(
        `round ${round + 1} ${server}: ${Math.round(r.connectsPerSec)} conn/s, ${r.cpuUsPerConn.toFixed(0)} µs CPU per connection (${r.connectUsPerConn.toFixed(0)} until connected)`,
      );
    }
  }
  // The ratios are to Mosquitto when it ran, else to the first server.
  const ref = results.get('mosquitto') ?? results.get(servers[0]!)!;
  const mosq = median(ref.map((r) => r.cpuUsPerConn))!;
  const mosqRate = median(ref.map((r) => r.connectsPerSec))!;
  console.log(
    `\n| server | connects/s | broker CPU µs per connection | rate / Mosquitto | CPU / Mosquitto |`,
  );
  console.log('|---|--:|--:|--:|--:|');
  for (const server of servers) {
    const rate = median(results.get(server)!.map((r) => r.connectsPerSec))!;
    const cpu = median(results.get(server)!.map((r) => r.cpuUsPerConn))!;
    const all = results
      .get(server)!
      .map((r) => r.cpuUsPerConn.toFixed(0))
      .join(', ');
    const connect = median(results.get(server)!.map((r) => r.connectUsPerConn))!;
    console.log(
      `${server}: CPU µs per connection by round: ${all}; until connected, median: ${connect.toFixed(0)}`,
    );
    console.log(
      `| ${server} | ${Math.round(rate).toLocaleString('en-US')} | ${cpu.toFixed(0)} | ${(rate / mosqRate).toFixed(2)}× | ${(cpu / mosq).toFixed(2)}× |`,
    );
  }
}

await main();
