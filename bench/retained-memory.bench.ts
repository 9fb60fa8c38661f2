/**
 * Retained-message memory benchmark: resident memory per retained message of the real
 * `pipit broker` (in-memory store), Pipit alone in its process.
 *
 * For each payload size, a fresh broker process (`node --import tsx src/cli/main.ts broker
 * --memory`) receives BENCH_RETAINED retained messages on distinct topics
 * (`bench/retained/<6 digits>`, 21 bytes) from one raw-socket publisher in this process
 * (MQTT 3.1.1, QoS 1, BENCH_WINDOW unacknowledged at a time; BENCH_SUBSCRIBERS clients
 * subscribed to `bench/#` at QoS 1 receive each message too). The broker's VmRSS is read from
 * /proc before and after (once it has been idle for a second); the difference divided by the
 * count is the cost of one retained message. Medians over BENCH_ROUNDS rounds.
 *
 * Run with `node --import tsx bench/retained-memory.bench.ts` (BENCH_RETAINED=100000,
 * BENCH_SIZES=64,1024, BENCH_ROUNDS=3, BENCH_WINDOW=100, BENCH_SUBSCRIBERS=0). Not a test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Decoder, encode, type Packet } from '../src/protocol/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COUNT = Number(process.env.BENCH_RETAINED ?? 100_000);
const SIZES = (process.env.BENCH_SIZES ?? '64,1024').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 100);
/**
 * QoS 1 subscribers on `bench/#` that receive every message as it is retained: each
 * delivery makes a short-lived copy of the PUBLISH in Node's buffer pool, next to the
 * retained payload copies (the traffic under which a pooled payload pins a pool block).
 */
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 0);

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the broker on a free port; resolves once it listens. */
async function startBroker(): Promise<{ child: ChildProcess; port: number }> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const cli = join(ROOT, 'src/cli/main.ts');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, 'broker', '--memory', '--port', String(port), '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // With --log-level warn nothing says "listening": poll until a connection is accepted.
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return { child, port };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('the broker did not start');
}

/** A connected MQTT 3.1.1 client that counts what it receives and can wait for a count. */
async function rawClient(port: number, clientId: string) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise((r) => socket.once('connect', r));
  socket.setNoDelay(true);
  const decoder = new Decoder({ protocolVersion: 4 });
  const counts = { connack: 0, puback: 0, suback: 0, publish: 0 };
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) =>
    decoder.push(chunk, (p: Packet) => {
      if (p.type in counts) counts[p.type as keyof typeof counts]++;
      if (p.type === 'publish' && p.packetId !== undefined) {
        socket.write(encode({ type: 'puback', packetId: p.packetId }, 4));
      }
      wake?.();
    }),
  );
  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await new Promise<void>((r) => (wake = r));
  };
  const send = (packet: Packet): boolean => socket.write(encode(packet, 4));
  send({
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepAlive: 0,
    clientId,
  });
  await until(() => counts.connack === 1);
  return { socket, counts, until, send };
}

/** Publishes COUNT retained messages of `size` bytes, WINDOW at a time. */
async function publishRetained(port: number, size: number): Promise<void> {
  const subscribers = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const subscriber = await rawClient(port, `retained-bench-sub-${i}`);
    subscriber.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'bench/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await subscriber.until(() => subscriber.counts.suback === 1);
    subscribers.push(subscriber);
  }
  const publisher = await rawClient(port, 'retained-bench');
  const payload = Buffer.alloc(size, 0x61);
  const acked = (): number => publisher.counts.puback;
  for (let sent = 0; sent < COUNT; sent++) {
    publisher.send({
      type: 'publish',
      topic: `bench/retained/${String(sent).padStart(6, '0')}`,
      payload,
      qos: 1,
      packetId: (sent % 65_000) + 1,
      retain: true,
      dup: false,
    });
    if (sent + 1 - acked() >= WINDOW) await publisher.until(() => sent + 1 - acked() < WINDOW);
  }
  await publisher.until(() => acked() === COUNT);
  // A subscriber that falls more than maxQueuedMessages behind loses messages (counted by
  // the broker): wait until deliveries stop rather than for all of them.
  for (let last = -1, now = 0; last !== now; await sleep(500)) {
    last = now;
    now = subscribers.reduce((n, s) => n + s.counts.publish, 0);
  }
  for (const subscriber of subscribers) subscriber.socket.destroy();
  publisher.socket.destroy();
}

async function oneRound(size: number): Promise<number> {
  const { child, port } = await startBroker();
  try {
    await sleep(1000);
    const before = rssBytes(child.pid!);
    await publishRetained(port, size);
    await sleep(1000);
    return (rssBytes(child.pid!) - before) / COUNT;
  } finally {
    child.kill('SIGKILL');
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

console.log(
  `retained messages: ${COUNT}, rounds: ${ROUNDS}, window ${WINDOW}, ${SUBSCRIBERS} QoS 1 subscribers, Pipit alone (broker --memory)`,
);
for (const size of SIZES) {
  const perMessage: number[] = [];
  for (let round = 0; round < ROUNDS; round++) perMessage.push(await oneRound(size));
  const rounds = perMessage.map((b) => b.toFixed(0)).join(', ');
  console.log(
    `payload ${size} B: ${median(perMessage).toFixed(0)} B of RSS per retained message (rounds: ${rounds})`,
  );
}
