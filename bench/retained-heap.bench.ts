/**
 * Retained-message heap benchmark: the heap one retained message costs in the core's
 * retained set beyond its topic and payload, and how fast the set answers the filters of
 * retained-on-subscribe. In process, with `--expose-gc`: `process.memoryUsage()` (heap used
 * plus array buffers) after a forced GC, before and after BENCH_RETAINED messages are
 * retained through `RetainedMessages.set` the way a publish retains them (a Message from
 * `createMessage`, its payload a view into a shared 64 KiB slab as the decoder gives it, so
 * `set` copies it into memory of its own). Topic strings are made before the first reading:
 * what is reported is the cost beyond them and beyond the payload bytes.
 *
 * Topic shapes:
 * - flat: `bench/retained/<6 digits>` (21 bytes; bench/retained-memory.bench.ts's topics)
 * - devices: `devices/<6 digits>/status` (one topic per device)
 * - metrics: `devices/<6 digits>/<metric>` (four per device: temp, hum, battery, status)
 *
 * Then the mean time of one `RetainedMessages.match` call (warmed up, repeated for 200 ms)
 * for an exact topic, a `+` level and `#` filters over part or all of the set. Last, the
 * heap of the flat shape's messages restored at start from a SQLite store (the topics come
 * from the store then: counted, with the store's own heap).
 *
 * Run with `node --expose-gc --import tsx bench/retained-heap.bench.ts` (BENCH_RETAINED=
 * 100000, BENCH_PAYLOAD=64). Not a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerCore } from '../src/core/broker-core.js';
import { MemoryBudget } from '../src/core/memory-budget.js';
import { createMessage } from '../src/core/message.js';
import { RetainedMessages } from '../src/core/retained.js';
import { systemClock } from '../src/ports/index.js';
import { SqliteStore } from '../src/storage/index.js';

const COUNT = Number(process.env.BENCH_RETAINED ?? 100_000);
const PAYLOAD = Number(process.env.BENCH_PAYLOAD ?? 64);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const METRICS = ['temp', 'hum', 'battery', 'status'];
const id = (i: number): string => String(i).padStart(6, '0');
const SHAPES: Record<string, (i: number) => string> = {
  flat: (i) => `bench/retained/${id(i)}`,
  devices: (i) => `devices/${id(i)}/status`,
  metrics: (i) => `devices/${id(Math.floor(i / 4))}/${METRICS[i % 4]}`,
};

/** The filters timed per shape: exact, '+', '#' over a tenth, '#' over everything. */
const FILTERS: Record<string, string[]> = {
  flat: ['bench/retained/012345', 'bench/+/012345', 'bench/retained/#', '#'],
  devices: ['devices/012345/status', 'devices/+/status', 'devices/#', '#'],
  metrics: ['devices/012345/temp', 'devices/012345/+', 'devices/+/temp', '#'],
};

const publisher = {
  clientId: 'bench-publisher',
  username: undefined,
  usernameVerified: false,
  protocolVersion: 4 as const,
  remoteAddress: '127.0.0.1',
  listener: 'tcp',
  certificateIdentity: undefined,
};

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Mean time of one call of `fn`, in ns: warmed up, then repeated for at least 200 ms. */
function timePerCall(fn: () => void): number {
  for (let i = 0; i < 20; i++) fn();
  let calls = 0;
  const t = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 200e6 || calls < 5) {
    fn();
    calls++;
    elapsed = Number(process.hrtime.bigint() - t);
  }
  return elapsed / calls;
}

function measure(shape: string): void {
  const topicOf = SHAPES[shape]!;
  const topics = Array.from({ length: COUNT }, (_, i) => topicOf(i));
  const topicBytes = topics.reduce((n, t) => n + Buffer.byteLength(t), 0) / COUNT;
  const slab = Buffer.alloc(65_536, 0x61);
  const budget = new MemoryBudget(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const retained = new RetainedMessages(
    { maxMessages: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER },
    budget,
    systemClock,
  );
  const before = used();
  const started = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) {
    const at = (i * PAYLOAD) % (slab.length - PAYLOAD);
    const message = createMessage(
      i + 1,
      {
        topic: topics[i]!,
        payload: slab.subarray(at, at + PAYLOAD),
        qos: 1,
        retain: true,
        origin: publisher.clientId,
        publisher,
      },
      0,
    );
    retained.set(message);
  }
  const setNs = Number(process.hrtime.bigint() - started) / COUNT;
  const perMessage = (used() - before) / COUNT;
  const times = FILTERS[shape]!.map((filter) => {
    let found = 0;
    const ns = timePerCall(() => {
      found = retained.match(filter, 0).length;
    });
    return `${filter} (${found}): ${ns < 1e6 ? `${(ns / 1e3).toFixed(1)} µs` : `${(ns / 1e6).toFixed(1)} ms`}`;
  });
  console.log(
    `${shape}: ${perMessage.toFixed(0)} B per retained message, ${(perMessage - PAYLOAD).toFixed(0)} B beyond its ${PAYLOAD} B payload (topics of ${topicBytes.toFixed(0)} B not counted); set ${(setNs / 1000).toFixed(2)} µs each (message made too); match ${times.join(', ')}`,
  );
  if (retained.size !== COUNT) throw new Error(`retained ${retained.size} of ${COUNT}`);
}

/** Heap per retained message restored from a SQLite store by BrokerCore.start. */
async function measureRestored(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pipit-retained-heap-'));
  try {
    const writer = new SqliteStore({ dataDir, durability: 'none' });
    await writer.open();
    const payload = Buffer.alloc(PAYLOAD, 0x61);
    for (let i = 0; i < COUNT; i++) {
      writer.putRetained({
        id: i + 1,
        topic: SHAPES.flat!(i),
        payload,
        qos: 1,
        retain: true,
        origin: publisher.clientId,
        publisher: { listener: publisher.listener },
      });
    }
    await writer.close();
    const store = new SqliteStore({ dataDir, durability: 'none' });
    const core = new BrokerCore({ store, options: { memoryBudget: Number.MAX_SAFE_INTEGER } });
    const before = used();
    await core.start();
    const perMessage = (used() - before) / core.retained.size;
    console.log(
      `restored (flat, from SQLite): ${perMessage.toFixed(0)} B per retained message with its 21 B topic and ${PAYLOAD} B payload`,
    );
    core.close();
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(`retained messages: ${COUNT}, payload ${PAYLOAD} B, Node ${process.version}`);
for (const shape of Object.keys(SHAPES)) measure(shape);
await measureRestored();
