// What `$SYS` and metrics cost on the publish path, as CPU per delivery in process, where the
// socket benchmarks swing by +-40% between runs on this 2-core machine (bench/RESULTS.md, "The
// cost of `$SYS` and metrics"). One broker (createBroker, no store, no sockets: connections
// over a sink that takes every byte), 100 publishers each to its own subscriber, QoS 0 or 1,
// run in slices that yield to the event loop, so timers fire as in a real broker. `off`:
// `$SYS` off, no metrics. `on`: `$SYS` every second and `/metrics` text built every second
// (prom-client's default process metrics included). CPU is this process's user + system time,
// so the `$SYS` updates and the scrapes count. Printed, never asserted.
//
// Run: node --import tsx bench/ops-cost.bench.ts on|off|sys|metrics|metrics-noprocess [qos] [s]
//   (alternate the modes in separate processes, several rounds; `sys`: only `$SYS`, `metrics`:
//   only the scrapes, `metrics-noprocess`: the scrapes without prom-client's process metrics)
import { type Broker, createBroker } from '../src/index.js';
import { encode, type QoS } from '../src/protocol/index.js';

const mode = process.argv[2];
const MODES = ['on', 'off', 'sys', 'metrics', 'metrics-noprocess'];
if (!MODES.includes(mode ?? '')) {
  throw new Error(`usage: ops-cost.bench.ts ${MODES.join('|')} [qos] [seconds]`);
}
/** `$SYS` every second in `on` and `sys`; `/metrics` built every second in the others but `off`. */
const withSys = mode === 'on' || mode === 'sys';
const withMetrics = mode === 'on' || mode === 'metrics' || mode === 'metrics-noprocess';
const QOS = Number(process.argv[3] ?? 0) as QoS;
const SECONDS = Number(process.argv[4] ?? 5);
const PAIRS = 100;
const BATCH = 10;
const PAYLOAD = Buffer.alloc(64, 0x61);

/** A transport that takes every byte at once. */
class NullSink {
  bufferedBytes = 0;
  write(_data: Buffer): void {}
  pause(): void {}
  resume(): void {}
  notifyWhenDrained(drained: () => void): void {
    setImmediate(drained);
  }
  end(): void {}
}

function peer(broker: Broker, clientId: string): (chunk: Buffer) => void {
  const conn = broker.core.openConnection(new NullSink(), {
    listener: 'bench',
    remoteAddress: '127.0.0.1',
  });
  const connect = { type: 'connect', protocolName: 'MQTT', protocolVersion: 4 } as const;
  conn.receive(encode({ ...connect, clean: true, keepAlive: 0, clientId }, 4));
  return (chunk) => conn.receive(chunk);
}

function publishes(topic: string): Buffer {
  const packets: Buffer[] = [];
  for (let i = 0; i < BATCH; i++) {
    const packetId = QOS > 0 ? i + 1 : undefined;
    const publish = { type: 'publish', topic, payload: PAYLOAD, qos: QOS, retain: false } as const;
    packets.push(encode({ ...publish, dup: false, packetId }, 4));
  }
  return Buffer.concat(packets);
}

/** PUBACKs for the BATCH ids a subscriber was given next (ids wrap after 65535). */
function pubacks(first: number): Buffer {
  const out = Buffer.allocUnsafe(BATCH * 4);
  for (let i = 0; i < BATCH; i++) {
    out[i * 4] = 0x40;
    out[i * 4 + 1] = 2;
    out.writeUInt16BE(((first - 1 + i) % 65535) + 1, i * 4 + 2);
  }
  return out;
}

const broker = createBroker({
  sysInterval: withSys ? 1 : 0,
  maxInflight: 65535,
  ...(mode === 'metrics-noprocess' ? { metrics: { process: false } } : {}),
});
await broker.start();
let scrapes = 0;
const scraper = withMetrics
  ? setInterval(() => void broker.metricsText().then(() => scrapes++), 1000)
  : undefined;
const steps: (() => void)[] = [];
for (let i = 0; i < PAIRS; i++) {
  const sub = peer(broker, `sub-${i}`);
  const filter = `bench/${i}`;
  const subscribe = { type: 'subscribe', packetId: 1 } as const;
  const options = { qos: QOS, noLocal: false, retainAsPublished: false, retainHandling: 0 };
  sub(encode({ ...subscribe, subscriptions: [{ filter, ...options }] as never }, 4));
  const pub = peer(broker, `pub-${i}`);
  const chunk = publishes(filter);
  let nextId = 1;
  steps.push(() => {
    pub(chunk);
    if (QOS > 0) {
      sub(pubacks(nextId));
      nextId = ((nextId - 1 + BATCH) % 65535) + 1;
    }
  });
}

/** Runs slices of work for `ms`, yielding between them; returns deliveries. */
async function run(ms: number): Promise<number> {
  const until = performance.now() + ms;
  let deliveries = 0;
  while (performance.now() < until) {
    for (let s = 0; s < 20; s++) for (const step of steps) step();
    deliveries += 20 * PAIRS * BATCH;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return deliveries;
}

await run(1500); // warm-up
const start = process.cpuUsage();
const deliveries = await run(SECONDS * 1000);
const used = process.cpuUsage(start);
const ns = ((used.user + used.system) * 1000) / deliveries;
console.log(
  `${mode} qos${QOS} ${ns.toFixed(1)} CPU ns/delivery, ${deliveries} deliveries, ${scrapes} scrapes`,
);
if (scraper) clearInterval(scraper);
await broker.close();
