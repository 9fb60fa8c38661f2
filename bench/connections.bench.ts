/**
 * Connection cost benchmark: heap and RSS bytes per idle MQTT connection of an in-process
 * Pipit broker, and how fast it accepts them.
 *
 * The broker runs in this process; the clients run in a child process (so their sockets
 * and buffers are not counted): N raw TCP sockets, each sending one CONNECT (MQTT 3.1.1,
 * keep alive 0) and waiting for its CONNACK, `BENCH_CONCURRENCY` at a time. Once all are
 * up, this process collects garbage and reads `process.memoryUsage()`; the difference to
 * the same reading before, divided by N, is the cost of one idle connection.
 *
 * Run with `node --expose-gc --import tsx bench/connections.bench.ts` (BENCH_CONNS=10000,
 * BENCH_CONCURRENCY=500, BENCH_ROUNDS=3, BENCH_KEEPALIVE=0 seconds, BENCH_VERSION=4 (3.1.1) or
 * 5, BENCH_CLEAN=1 or 0 for persistent sessions; BENCH_SNAPSHOT=1 also writes a heap snapshot
 * before the last round's connections and one with them held, for
 * `node bench/heap-by-class.mjs before after N`). Not a test.
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { createBroker } from '../src/index.js';
import { encode } from '../src/protocol/index.js';

const HOST = '127.0.0.1';
const CONNS = Number(process.env.BENCH_CONNS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Keep alive the clients announce (0: none; real clients typically use 30-60 s). */
const KEEP_ALIVE = Number(process.env.BENCH_KEEPALIVE ?? 0);
/** MQTT version of the clients' CONNECT: 4 (3.1.1) or 5. */
const VERSION = Number(process.env.BENCH_VERSION ?? 4) === 5 ? 5 : 4;
/** Clean start / clean session (1) or a persistent session (0, MQTT 5 with a 1 h expiry). */
const CLEAN = process.env.BENCH_CLEAN !== '0';
const CONNECT_TIMEOUT_MS = 30_000;

/** What the client process reports once its connections are up. */
interface ClientReport {
  established: number;
  failed: number;
  ms: number;
  userMs: number;
  systemMs: number;
}

// --- client side (child process) ------------------------------------------------------------

function connectOne(port: number, packet: Buffer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('CONNACK timeout'));
    }, CONNECT_TIMEOUT_MS);
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= 4) {
        clearTimeout(timer);
        resolve(socket);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.write(packet);
  });
}

async function runClients(port: number, count: number, concurrency: number): Promise<void> {
  const tag = Math.random().toString(36).slice(2, 8);
  const sockets: net.Socket[] = [];
  let failed = 0;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const packet = encode(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: VERSION,
          clean: CLEAN,
          keepAlive: KEEP_ALIVE,
          clientId: `cb-${tag}-${i}`,
          ...(VERSION === 5 && !CLEAN ? { properties: { sessionExpiryInterval: 3600 } } : {}),
        },
        VERSION,
      );
      try {
        sockets.push(await connectOne(port, packet));
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const report: ClientReport = {
    established: sockets.length,
    failed,
    ms,
    userMs: cpu.user / 1000,
    systemMs: cpu.system / 1000,
  };
  process.send?.(report);
  process.once('message', () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}

// --- broker side (this process) ---------------------------------------------------------------

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) collect();
}

function memory(): { heap: number; rss: number; external: number } {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, external: m.external + m.arrayBuffers };
}

/** "total (user + system)" microseconds of CPU per connection. */
function cpuPerConn(userUs: number, systemUs: number, n: number): string {
  const r = (us: number) => Math.round(us / n);
  return `${r(userUs + systemUs)} (${r(userUs)}+${r(systemUs)})`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function round(port: number, broker: ReturnType<typeof createBroker>, snapshot: boolean) {
  await sleep(200);
  const before = memory();
  if (snapshot) console.log(`heap snapshot before: ${writeHeapSnapshot()}`);
  const cpu0 = process.cpuUsage();
  const child = fork(fileURLToPath(import.meta.url), ['--client', String(port)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env },
  });
  const report = await new Promise<ClientReport>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ClientReport));
    child.once('exit', (code) => reject(new Error(`client exited with ${code}`)));
  });
  const cpu = process.cpuUsage(cpu0);
  await sleep(300);
  const held = memory();
  const n = Math.max(1, report.established);
  if (snapshot) console.log(`heap snapshot: ${writeHeapSnapshot()}`);
  const perConn = (a: number, b: number) => Math.round((b - a) / n);
  console.log(
    [
      `established ${report.established}/${CONNS} (failed ${report.failed})`,
      `connects/s ${Math.round(report.established / (report.ms / 1000))}`,
      // CPU per connection does not depend on what else runs on the machine; the rate does.
      `client CPU ${Math.round(((report.userMs + report.systemMs) / report.ms) * 100)}%`,
      `client µs/conn ${cpuPerConn(report.userMs * 1000, report.systemMs * 1000, n)}`,
      `broker CPU ${Math.round(((cpu.user + cpu.system) / 1000 / report.ms) * 100)}%`,
      `broker µs/conn ${cpuPerConn(cpu.user, cpu.system, n)}`,
      `heap B/conn ${perConn(before.heap, held.heap)}`,
      `external B/conn ${perConn(before.external, held.external)}`,
      `RSS B/conn ${perConn(before.rss, held.rss)}`,
      `sessions ${broker.core.sessions.size}`,
    ].join(' | '),
  );
  child.send('close');
  await new Promise((r) => child.once('exit', r));
  for (let i = 0; i < 100 && broker.core.connections.size > 0; i++) await sleep(50);
}

async function main(): Promise<void> {
  const broker = createBroker({ maxConnections: CONNS * 2 });
  const address = await broker.listen({ port: 0, host: HOST });
  console.log(
    `Pipit connection cost: ${CONNS} idle connections (MQTT ${VERSION === 5 ? '5.0' : '3.1.1'}, ${CLEAN ? 'clean' : 'persistent'}, keep alive ${KEEP_ALIVE} s), ${CONCURRENCY} connecting at once`,
  );
  for (let r = 0; r < ROUNDS; r++) {
    await round(address.port, broker, process.env.BENCH_SNAPSHOT === '1' && r === ROUNDS - 1);
  }
  await broker.close();
}

if (process.argv[2] === '--client') {
  await runClients(Number(process.argv[3]), CONNS, CONCURRENCY);
} else {
  await main();
}
