/**
 * Connection-rate ceiling of this machine for Node, without MQTT: how many TCP connections
 * per second a bare Node server accepts on one core while a bare Node client opens them on
 * the other, each connection doing one 1-byte request and a 1-byte answer (the shape of
 * CONNECT / CONNACK), and what each side spends per connection.
 *
 * Why: the comparison's `conn-10k` measures Pipit, Mosquitto and Aedes through `pipit bench`.
 * This run says what is left when the broker does nothing at all, so a connects/s goal can
 * be read against what the sockets alone cost here.
 *
 * Run with `node --import tsx bench/conn-ceiling.bench.ts` (BENCH_CONNS=10000,
 * BENCH_CONCURRENCY=400, BENCH_ROUNDS=3). The server runs in a child process pinned to core 0,
 * this process pins itself to core 1 (when `taskset` exists). Not a test.
 */
import { execFileSync, fork } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';
const CONNS = Number(process.env.BENCH_CONNS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** CPU (user + system) of this process in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// --- server side (child process) ------------------------------------------------------------

/** Accepts, answers the first byte of each connection with one byte, holds the socket. */
function serve(): void {
  const held: net.Socket[] = [];
  const server = net.createServer({ noDelay: true }, (socket) => {
    held.push(socket);
    socket.once('data', () => socket.write('k'));
    socket.on('error', () => {});
  });
  server.listen(0, HOST, () => {
    process.send?.({ port: (server.address() as net.AddressInfo).port });
  });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'cpu') process.send?.({ cpuMs: cpuMs() });
    if (m.cmd === 'drop') {
      for (const s of held) s.destroy();
      held.length = 0;
      process.send?.({ dropped: true });
    }
  });
}

// --- client side (this process) -------------------------------------------------------------

function connectOne(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port, noDelay: true });
    socket.once('connect', () => socket.write('c'));
    socket.once('data', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function openAll(port: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CONNS) {
      next++;
      out.push(await connectOne(port));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out;
}

/** Sends `cmd` to the server and resolves with its answer. */
function ask<T>(child: ReturnType<typeof fork>, cmd: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send({ cmd });
  });
}

/** Pins every thread of `pid` to `core`; false without taskset or a second core. */
function pin(pid: number, core: number): boolean {
  if (os.cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['serve'], { stdio: 'inherit' });
  const { port } = await new Promise<{ port: number }>((r) =>
    child.once('message', (m) => r(m as { port: number })),
  );
  const pinned = pin(child.pid ?? 0, 0) && pin(process.pid, 1);
  console.log(
    `bare Node TCP, ${CONNS} connections, ${CONCURRENCY} in flight, 1-byte request + answer each, ${pinned ? 'server on core 0 and client on core 1' : 'unpinned (no taskset or one core)'}`,
  );
  console.log('round | connects/s | server CPU µs/conn | client CPU µs/conn');
  for (let round = 1; round <= ROUNDS; round++) {
    const server0 = await ask<{ cpuMs: number }>(child, 'cpu');
    const client0 = cpuMs();
    const t0 = performance.now();
    const sockets = await openAll(port);
    const ms = performance.now() - t0;
    const client = cpuMs() - client0;
    const server1 = await ask<{ cpuMs: number }>(child, 'cpu');
    const perConn = (cpu: number) => Math.round((cpu * 1000) / sockets.length);
    console.log(
      `${round} | ${Math.round(sockets.length / (ms / 1000))} | ${perConn(server1.cpuMs - server0.cpuMs)} | ${perConn(client)}`,
    );
    for (const s of sockets) s.destroy();
    await ask(child, 'drop');
    // Let TIME_WAIT sockets and the listen queue settle before the next round.
    await new Promise((r) => setTimeout(r, 1000));
  }
  child.kill();
}

if (process.argv[2] === 'serve') serve();
else await main();
