/**
 * Heap per idle connection of the compiled broker, measured so that the machine's load does
 * not move it (#17): the broker runs as users start it (`node --max-semi-space-size=4
 * dist/cli/main.js broker --memory`) plus `--expose-gc --inspect`, this process opens idle
 * connections as the bench's mqtt-load does (clean session, keep alive 60, one CONNECT and its
 * CONNACK, nothing after), and at each count it forces a full GC in the broker through the
 * inspector and reads `process.memoryUsage()`: heapUsed (V8's used_heap_size), external and
 * arrayBuffers, and RSS; then it writes a heap snapshot. The figures per
 * connection are differences between two counts (the marginal cost, between two settled
 * heaps: a forced GC leaves nothing to settle), and `bench/heap-by-class.mjs` lists the
 * snapshot growth by class.
 *
 *   node --import tsx bench/idle-heap.bench.ts [--main dist/cli/main.js] [--version 4|5]
 *     [--counts 2000,4000] [--keepalive 60] [--settle 11] [--out .tmp/idle-heap] [--rows 40]
 *
 * RSS is printed too, but it is not a settled figure (freed pages stay mapped until the
 * allocator returns them); kernel socket buffers are not in it at all. Not a test.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encode } from '../src/protocol/index.js';
import { Inspector } from './harness/inspector.js';

const HOST = '127.0.0.1';
const { values: args } = parseArgs({
  options: {
    main: { type: 'string', default: 'dist/cli/main.js' },
    version: { type: 'string', default: '4' },
    counts: { type: 'string', default: '2000,4000' },
    keepalive: { type: 'string', default: '60' },
    out: { type: 'string', default: '.tmp/idle-heap' },
    rows: { type: 'string', default: '40' },
    label: { type: 'string', default: '' },
    settle: { type: 'string', default: '11' },
  },
});
const VERSION = args.version === '5' ? 5 : 4;
const COUNTS = args.counts.split(',').map(Number);
const KEEP_ALIVE = Number(args.keepalive);
const CONCURRENCY = 200;
/**
 * Seconds to wait before each reading: past the connect timeout (10 s), so that what the
 * connects left behind for a while (the connect deadlines' arrays) is gone, as in the bench's
 * hold.
 */
const SETTLE_S = Number(args.settle);

interface Reading {
  count: number;
  used: number;
  external: number;
  arrayBuffers: number;
  rss: number;
  snapshot: string;
}

/** Settles the broker's heap (several full GCs), reads it, writes a snapshot. */
async function read(insp: Inspector, count: number, dir: string): Promise<Reading> {
  const file = resolve(join(dir, `v${VERSION}-${count}.heapsnapshot`));
  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  // heapUsed is V8's used_heap_size (v8.getHeapStatistics()).
  const r = await insp.evaluate<Omit<Reading, 'count' | 'snapshot'>>(`(() => {
    for (let i = 0; i < 4; i++) gc();
    const m = process.memoryUsage();
    return { used: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
  })()`);
  await insp.snapshot(file);
  return { count, snapshot: file, ...r };
}

function startBroker(port: number): { child: ChildProcess; inspectorUrl: Promise<string> } {
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=4',
      '--expose-gc',
      '--inspect=127.0.0.1:0',
      args.main,
      'broker',
      '--port',
      String(port),
      '--host',
      HOST,
      '--memory',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  const inspectorUrl = new Promise<string>((ok, fail) => {
    let text = '';
    child.stderr?.on('data', (d: Buffer) => {
      text += String(d);
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(text);
      if (m?.[1]) ok(m[1]);
    });
    child.once('exit', (code) => fail(new Error(`broker exited with ${code}: ${text}`)));
  });
  return { child, inspectorUrl };
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.once('error', fail);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => ok(port));
    });
  });
}

/** One client as mqtt-load's connect mode: CONNECT, wait for the CONNACK, then idle. */
function connectOne(port: number, clientId: string): Promise<net.Socket> {
  const packet = encode(
    {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: VERSION,
      clean: true,
      keepAlive: KEEP_ALIVE,
      clientId,
    },
    VERSION,
  );
  return new Promise((ok, fail) => {
    const socket = net.connect({ host: HOST, port }, () => socket.write(packet));
    socket.once('data', () => ok(socket));
    socket.once('error', fail);
  });
}

async function open(port: number, from: number, to: number, held: net.Socket[]): Promise<void> {
  const tag = (process.pid & 0xffffff).toString(16).padStart(6, '0');
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const i = next++;
      held.push(await connectOne(port, `mlc-${tag}-${String(i).padStart(6, '0')}`));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const perConn = (a: number, b: number, n: number): string => ((b - a) / n).toFixed(1);

async function main(): Promise<void> {
  mkdirSync(args.out, { recursive: true });
  const port = await freePort();
  const { child, inspectorUrl } = startBroker(port);
  const held: net.Socket[] = [];
  // The broker is this run's alone: it goes when the run ends, failed or not.
  try {
    await measure(port, await Inspector.open(await inspectorUrl), held);
  } finally {
    for (const s of held) s.destroy();
    child.kill('SIGTERM');
  }
}

async function measure(port: number, insp: Inspector, held: net.Socket[]): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
  const readings: Reading[] = [await read(insp, 0, args.out)];
  for (const count of COUNTS) {
    await open(port, held.length, count, held);
    readings.push(await read(insp, count, args.out));
  }
  const label = args.label || args.main;
  console.log(`\n${label}: MQTT ${VERSION === 5 ? '5.0' : '3.1.1'}, keep alive ${KEEP_ALIVE}`);
  console.log('from -> to      used heap B/conn  external B/conn  arrayBuffers B/conn  RSS B/conn');
  for (let i = 1; i < readings.length; i++) {
    const a = readings[i - 1] as Reading;
    const b = readings[i] as Reading;
    const n = b.count - a.count;
    console.log(
      `${String(a.count).padStart(5)} -> ${String(b.count).padEnd(6)}  ${perConn(a.used, b.used, n).padStart(16)}  ${perConn(a.external, b.external, n).padStart(15)}  ${perConn(a.arrayBuffers, b.arrayBuffers, n).padStart(19)}  ${perConn(a.rss, b.rss, n).padStart(10)}`,
    );
  }
  const last = readings.at(-1) as Reading;
  const prev = readings.at(-2) as Reading;
  console.log(`\nsnapshot growth ${prev.count} -> ${last.count}, by class:`);
  console.log(
    execFileSync(
      process.execPath,
      [
        'bench/heap-by-class.mjs',
        prev.snapshot,
        last.snapshot,
        String(last.count - prev.count),
        args.rows,
      ],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    ),
  );
  insp.close();
}

await main();
