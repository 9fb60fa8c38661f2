/**
 * Durability benchmark: QoS 1 throughput from publishers to one persistent subscriber
 * through `pipit broker` (a child process) with the SQLite store in each durability mode
 * (fsync, batched, none) and with --memory for reference, side by side.
 *
 * Each subscriber (Clean Session 0, one per publisher, own topic) stays connected and acknowledges everything, so each
 * message costs the store a putMessage + putInflight + deleteInflight (and queue writes
 * while its window is full). Each publisher pipelines QoS 1 PUBLISH with `--window`
 * unacknowledged; throughput is PUBACKs received per second after a warm-up. Group commit
 * shares one fsync among everything of a tick, so it scales with concurrent publishers.
 * Every case runs `--rounds` times (modes in turn each round); the median is reported.
 *
 *   node --import tsx bench/durability.bench.ts [--ms 3000] [--rounds 3] [--window 100] [--no-write]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Packet } from '../src/protocol/index.js';
import { Decoder, encode } from '../src/protocol/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
type Mode = 'fsync' | 'batched' | 'none' | 'memory';
const MODES: Mode[] = ['fsync', 'batched', 'none', 'memory'];
const PUBLISHERS = [1, 8];
const PAYLOAD = Buffer.alloc(64, 0x61);

const { values } = parseArgs({
  options: {
    ms: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '700' },
    rounds: { type: 'string', default: '3' },
    window: { type: 'string', default: '100' },
    'no-write': { type: 'boolean', default: false },
  },
});
const MEASURE_MS = Number(values.ms);
const WARMUP_MS = Number(values.warmup);
const ROUNDS = Number(values.rounds);
const WINDOW = Number(values.window);

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts `pipit broker` in `mode` and resolves once it listens. */
async function startBroker(mode: Mode, port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'];
  if (mode === 'memory') args.push('--memory');
  else {
    const config = join(dir, 'pipit.yaml');
    writeFileSync(config, `storage:\n  durability: ${mode}\n`);
    args.push('--data-dir', join(dir, 'data'), '-c', config);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'broker', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  // Logs are at warn level: poll the port instead of waiting for the "listening" line.
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker exited: ${err}`);
    try {
      const c = await client(port, `probe-${Date.now()}`, true);
      c.socket.destroy();
      return child;
    } catch {
      if (Date.now() > deadline) throw new Error(`broker did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

interface Client {
  socket: Socket;
  onPacket: (fn: (p: Packet) => void) => void;
}

/** A v3.1.1 connection with CONNACK received. */
function client(port: number, clientId: string, clean: boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    const decoder = new Decoder({ protocolVersion: 4 });
    let handler: (p: Packet) => void = () => {};
    const c: Client = { socket, onPacket: (fn) => (handler = fn) };
    socket.on('data', (chunk: Buffer) => decoder.push(chunk, (p) => handler(p)));
    socket.once('error', reject);
    handler = (p) => {
      if (p.type === 'connack') resolve(c);
    };
    socket.write(
      encode(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: 4,
          clean,
          keepAlive: 0,
          clientId,
        },
        4,
      ),
    );
  });
}

interface Counter {
  acked: number;
}

/** Pipelines QoS 1 PUBLISH with `WINDOW` unacknowledged until `stop()`. */
async function publisher(
  port: number,
  id: string,
  topic: string,
  counter: Counter,
): Promise<() => void> {
  const c = await client(port, id, true);
  let next = 1;
  let inflight = 0;
  let running = true;
  const send = (): void => {
    const chunks: Buffer[] = [];
    while (running && inflight < WINDOW) {
      const packetId = next;
      next = next === 65535 ? 1 : next + 1;
      inflight++;
      chunks.push(
        encode(
          {
            type: 'publish',
            topic,
            payload: PAYLOAD,
            qos: 1,
            retain: false,
            dup: false,
            packetId,
          },
          4,
        ),
      );
    }
    if (chunks.length > 0) c.socket.write(Buffer.concat(chunks));
  };
  c.onPacket((p) => {
    if (p.type !== 'puback') return;
    inflight--;
    counter.acked++;
    if (inflight <= WINDOW / 2) send();
  });
  send();
  return () => {
    running = false;
    c.socket.destroy();
  };
}

/** Persistent subscriber `i` on `bench/i`; PUBACKs of one read go out in one write. */
async function subscriber(port: number, i: number, received: { n: number }): Promise<Client> {
  const sub = await client(port, `bench-sub-${i}`, false);
  let acks: Buffer[] = [];
  sub.onPacket((p) => {
    if (p.type !== 'publish') return;
    received.n++;
    if (p.qos !== 1) return;
    if (acks.length === 0) {
      queueMicrotask(() => {
        sub.socket.write(Buffer.concat(acks));
        acks = [];
      });
    }
    acks.push(encode({ type: 'puback', packetId: p.packetId! }, 4));
  });
  const subscription = {
    filter: `bench/${i}`,
    qos: 1 as const,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0 as const,
  };
  sub.socket.write(encode({ type: 'subscribe', packetId: 1, subscriptions: [subscription] }, 4));
  return sub;
}

/** One measured case; returns PUBACKs per second and messages the subscriber got per second. */
async function runCase(
  mode: Mode,
  publishers: number,
): Promise<{ pubRate: number; subRate: number }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'pipit-durbench-'));
  const port = await freePort();
  const broker = await startBroker(mode, port, dir);
  try {
    const received = { n: 0 };
    const subs = await Promise.all(
      Array.from({ length: publishers }, (_, i) => subscriber(port, i, received)),
    );
    await new Promise((r) => setTimeout(r, 200));
    const counter: Counter = { acked: 0 };
    const stops = await Promise.all(
      Array.from({ length: publishers }, (_, i) =>
        publisher(port, `bench-pub-${i}`, `bench/${i}`, counter),
      ),
    );
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const a0 = counter.acked;
    const r0 = received.n;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    const seconds = (performance.now() - t0) / 1000;
    const result = {
      pubRate: (counter.acked - a0) / seconds,
      subRate: (received.n - r0) / seconds,
    };
    for (const stop of stops) stop();
    for (const sub of subs) sub.socket.destroy();
    return result;
  } finally {
    broker.kill('SIGKILL');
    await once(broker, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const results = new Map<string, { pub: number[]; sub: number[] }>();
for (let round = 0; round < ROUNDS; round++) {
  for (const publishers of PUBLISHERS) {
    for (const mode of MODES) {
      const r = await runCase(mode, publishers);
      const key = `${mode}|${publishers}`;
      const entry = results.get(key) ?? { pub: [], sub: [] };
      entry.pub.push(r.pubRate);
      entry.sub.push(r.subRate);
      results.set(key, entry);
      console.log(
        `round ${round + 1} ${mode.padEnd(7)} ${publishers} pub: ${Math.round(r.pubRate)} acked/s, ${Math.round(r.subRate)} delivered/s`,
      );
    }
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const rows: string[] = [
  '| pairs | mode | PUBACK msg/s | delivered msg/s | vs none |',
  '| ---: | --- | ---: | ---: | ---: |',
];
for (const publishers of PUBLISHERS) {
  const none = median(results.get(`none|${publishers}`)!.pub);
  for (const mode of MODES) {
    const r = results.get(`${mode}|${publishers}`)!;
    const pub = median(r.pub);
    rows.push(
      `| ${publishers} | ${mode === 'memory' ? '--memory' : `sqlite ${mode}`} | ${fmt(pub)} | ${fmt(median(r.sub))} | ${(pub / none).toFixed(2)} |`,
    );
  }
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const section = [
  '## Durability',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu}, ${os.cpus().length} cores, Linux ${os.release()}; Node ${process.version}; temp dir ${os.tmpdir()}. ${MEASURE_MS / 1000} s per case after ${WARMUP_MS} ms warm-up; median of ${ROUNDS} rounds.`,
  '',
  `QoS 1, 64-byte payload, 1 or 8 publisher -> persistent subscriber pairs (publisher i on \`bench/i\`, pipelining ${WINDOW} unacknowledged PUBLISH; subscriber i Clean Session 0, connected, acknowledging everything) through \`pipit broker\` in a child process. "PUBACK msg/s" counts acknowledgements the publishers received; "vs none" is the ratio to \`durability: none\` with as many publishers.`,
  '',
  ...rows,
  '',
];
console.log(section.join('\n'));
if (!values['no-write']) {
  const file = join(root, 'bench/RESULTS.md');
  let text = readFileSync(file, 'utf8');
  const start = text.indexOf('## Durability');
  const block = `${section.join('\n')}\nCommand: \`node --import tsx bench/durability.bench.ts\`\n`;
  if (start === -1) text = `${text.trimEnd()}\n\n${block}`;
  else {
    const end = text.indexOf('\n## ', start + 1);
    text = text.slice(0, start) + block + (end === -1 ? '' : text.slice(end + 1));
  }
  writeFileSync(file, text);
}
