/**
 * Store micro-benchmark: enqueue + commit throughput of each store and durability mode.
 *
 * Each case stores a 128-byte QoS 1 message, queues it for a session and awaits commit(),
 * from 1 writer (every message waits for its own commit) and from 64 concurrent writers
 * (group commit shares one transaction among them); then a drain case pages the queue back
 * (readQueue 100, dequeue, commit). Writers yield to the event loop every 64 messages, as
 * socket reads would. The raw fsync latency of the same disk is measured for context.
 * Results go to the "## Store" section of bench/RESULTS.md.
 *
 * Every case runs `--rounds` times (default 3, the stores in turn each round) and the
 * median round is reported.
 *
 * The Redis store runs too when `redis-server` is installed: against a local redis-server
 * started for the run (loopback, its data in a temp dir), with `appendfsync always` (the
 * settings the acknowledgement promise needs) and `appendfsync everysec`.
 *
 *   node --import tsx bench/store.bench.ts [--ms 2000] [--rounds 3] [--no-write] [--only redis]
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { BrokerStore, Durability } from '../src/ports/index.js';
import { MemoryStore, RedisStore, SqliteStore } from '../src/storage/index.js';
import { type RedisServer, startRedisServer } from '../test/helpers/redis-server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PAYLOAD = Buffer.alloc(128, 0x61);
const YIELD_EVERY = 64;

interface Config {
  name: string;
  make: (dir: string) => BrokerStore;
}

interface Row {
  store: string;
  scenario: string;
  perSec: number;
  msgsPerTx: number | undefined;
  p50: number;
  p99: number;
}

const CONFIGS: Config[] = [
  { name: 'memory', make: () => new MemoryStore() },
  ...(['fsync', 'batched', 'none'] as Durability[]).map((durability) => ({
    name: `sqlite ${durability}`,
    make: (dir: string) => new SqliteStore({ dataDir: dir, durability }),
  })),
];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function transactions(store: BrokerStore): number | undefined {
  return store instanceof SqliteStore || store instanceof RedisStore
    ? store.transactions
    : undefined;
}

/** True when `redis-server` can be run. */
function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The Redis store configs, each on its own redis-server (stopped by the returned function). */
async function redisConfigs(): Promise<{ configs: Config[]; stop: () => Promise<void> }> {
  if (!hasRedisServer()) {
    console.warn('redis-server is not installed: the Redis store is not measured');
    return { configs: [], stop: async () => {} };
  }
  const servers: RedisServer[] = [];
  const configs: Config[] = [];
  let stores = 0;
  for (const fsync of ['always', 'everysec']) {
    const server = await startRedisServer({ args: ['--appendfsync', fsync] });
    servers.push(server);
    configs.push({
      name: `redis ${fsync}`,
      make: () => new RedisStore({ url: server.url, prefix: `bench${++stores}:` }),
    });
  }
  return {
    configs,
    stop: async () => {
      for (const server of servers) await server.destroy();
    },
  };
}

/** `writers` loops storing and committing messages for `ms`; returns messages and latencies. */
async function produce(store: BrokerStore, writers: number, ms: number, firstId: number) {
  let nextId = firstId;
  const latencies: number[] = [];
  const deadline = performance.now() + ms;
  const writer = async (w: number) => {
    const clientId = `client-${w}`;
    store.putSession(clientId, 3600, undefined);
    for (let i = 1; performance.now() < deadline; i++) {
      const id = ++nextId;
      store.putMessage({
        id,
        topic: `bench/${clientId}/telemetry`,
        payload: PAYLOAD,
        qos: 1,
        retain: false,
      });
      // The message id doubles as the queue position: it increases in every client's queue.
      store.enqueue(clientId, id, { messageId: id, qos: 1, retain: false });
      const t = performance.now();
      await store.commit();
      latencies.push(performance.now() - t);
      if (i % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  return { messages: nextId - firstId, latencies };
}

/** Reads every session's queue back in pages of 100, dequeuing and committing each page. */
async function drain(store: BrokerStore, writers: number): Promise<number> {
  let n = 0;
  for (let w = 0; w < writers; w++) {
    const clientId = `client-${w}`;
    for (let after = 0; ; ) {
      const { entries } = await store.readQueue(clientId, after, 100);
      if (entries.length === 0) break;
      after = entries[entries.length - 1].seq;
      store.dequeue(clientId, after);
      await store.commit();
      n += entries.length;
    }
  }
  return n;
}

async function runConfig(config: Config, ms: number): Promise<Row[]> {
  const rows: Row[] = [];
  let nextId = 0;
  for (const writers of [1, 64]) {
    const dir = mkdtempSync(join(os.tmpdir(), 'pipit-store-bench-'));
    const store = config.make(dir);
    await store.open();
    await produce(store, writers, Math.min(300, ms / 4), nextId); // warm-up
    nextId += 10_000_000;
    const tx0 = transactions(store);
    const t0 = performance.now();
    const { messages, latencies } = await produce(store, writers, ms, nextId);
    const elapsed = (performance.now() - t0) / 1000;
    nextId += 10_000_000;
    const tx = tx0 === undefined ? undefined : transactions(store)! - tx0;
    latencies.sort((a, b) => a - b);
    rows.push({
      store: config.name,
      scenario: `enqueue+commit, ${writers} writer${writers > 1 ? 's' : ''}`,
      perSec: messages / elapsed,
      msgsPerTx: tx ? messages / tx : undefined,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    });
    if (writers === 64) {
      const t1 = performance.now();
      const drained = await drain(store, writers);
      rows.push({
        store: config.name,
        scenario: 'drain (readQueue 100 + dequeue + commit)',
        perSec: drained / ((performance.now() - t1) / 1000),
        msgsPerTx: undefined,
        p50: Number.NaN,
        p99: Number.NaN,
      });
    }
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Median fsync latency of a 4 KiB write in the temp directory, in ms. */
function fsyncLatency(): number {
  const dir = mkdtempSync(join(os.tmpdir(), 'pipit-fsync-'));
  const fd = openSync(join(dir, 'f'), 'w');
  const samples: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    writeSync(fd, PAYLOAD);
    fsyncSync(fd);
    samples.push(performance.now() - t);
  }
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
  return percentile(
    samples.sort((a, b) => a - b),
    50,
  );
}

const fmt = (n: number, digits = 0) =>
  Number.isNaN(n)
    ? '-'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function render(rows: Row[], ms: number, fsyncMs: number, rounds: number): string {
  const sqlite = new Database(':memory:')
    .prepare('SELECT sqlite_version()')
    .pluck()
    .get() as string;
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const lines = [
    '## Store',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu}, ${os.cpus().length} cores, Linux ${os.release()}; ` +
      `Node ${process.version}, SQLite ${sqlite} (better-sqlite3), temp dir ${os.tmpdir()} ` +
      `(raw fsync of a 4 KiB write: ${fmt(fsyncMs, 2)} ms median). ${ms / 1000} s per case after a warm-up; median of ${rounds} round(s).`,
    '',
    'Each message: 128-byte payload, QoS 1, `putMessage` + `enqueue` + `await commit()`. ' +
      '"64 writers" run concurrently, so group commit puts many of them in one transaction. ' +
      'Latency is the wait in `commit()`.',
    '',
    '| store | scenario | msg/s | msg per transaction | commit p50 ms | commit p99 ms |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.store} | ${r.scenario} | ${fmt(r.perSec)} | ${r.msgsPerTx === undefined ? '-' : fmt(r.msgsPerTx, 1)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} |`,
    ),
    '',
    "Reading: in `fsync` mode one writer is bound by the disk's fsync (one transaction per " +
      'message); concurrent writers share each fsync, so throughput grows with concurrency. ' +
      '`batched` (50 ms window) and `none` acknowledge at once and write in the background: ' +
      'they trade a bounded loss window on a crash for throughput.',
    '',
    'Redis: a local redis-server (loopback, data in the temp dir), `appendonly yes` with ' +
      '`appendfsync always` (the reply waits for the fsync: nothing acknowledged is lost) or ' +
      '`everysec` (a Redis crash may lose about a second). Each batch is one MULTI/EXEC round ' +
      'trip; "msg per transaction" counts messages per batch.',
    '',
    'Command: `node --import tsx bench/store.bench.ts`',
    '',
  ];
  return lines.join('\n');
}

/** Replaces (or appends) the "## Store" section of RESULTS.md, keeping the others. */
function replaceStoreSection(doc: string, section: string): string {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Store');
  if (start < 0) {
    const base = doc.trimEnd();
    return `${base ? `${base}\n\n` : '# Benchmark results\n\n'}${section}`;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const after = lines.slice(end).join('\n');
  return `${lines.slice(0, start).join('\n')}\n${section}${after ? `\n${after}` : ''}`;
}

/** Lets Biome align the tables, so the file passes `biome ci` as written. */
function formatMarkdown(file: string): void {
  try {
    execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', file], {
      stdio: 'ignore',
    });
  } catch {
    console.warn(`could not format ${file} with biome; run \`npx biome format --write\` on it`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ms: { type: 'string', default: '2000' },
      rounds: { type: 'string', default: '3' },
      'no-write': { type: 'boolean', default: false },
      only: { type: 'string' },
    },
  });
  const ms = Number(values.ms);
  const rounds = Number(values.rounds);
  if (!Number.isFinite(ms) || ms < 100) throw new RangeError('--ms must be a number >= 100');
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError('--rounds must be an integer >= 1');
  const fsyncMs = fsyncLatency();
  const redis = await redisConfigs();
  const only = values.only;
  const configs = [...CONFIGS, ...redis.configs].filter(
    (c) => only === undefined || c.name.includes(only),
  );
  const samples = new Map<string, Row[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const config of configs) {
      for (const row of await runConfig(config, ms)) {
        const key = `${row.store}|${row.scenario}`;
        samples.set(key, [...(samples.get(key) ?? []), row]);
        console.log(
          `round ${round} ${row.store.padEnd(14)} ${row.scenario.padEnd(42)} ${fmt(row.perSec).padStart(10)} msg/s`,
        );
      }
    }
  }
  await redis.stop();
  const rows = [...samples.values()].map((list) => {
    const sorted = [...list].sort((a, b) => a.perSec - b.perSec);
    return sorted[Math.floor((sorted.length - 1) / 2)];
  });
  const section = render(rows, ms, fsyncMs, rounds);
  console.log(`\n${section}`);
  if (!values['no-write']) {
    const file = join(root, 'bench', 'RESULTS.md');
    const doc = existsSync(file) ? readFileSync(file, 'utf8') : '';
    writeFileSync(file, replaceStoreSection(doc, section));
    formatMarkdown(file);
    console.log(`wrote the "Store" section of ${file}`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
