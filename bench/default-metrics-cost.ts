/**
 * What prom-client's default metrics cost a process, apart from the broker: CPU per second
 * of a process that is scraped once a second, with them (`defaults`), without them (`off`),
 * or with one of their two always-running parts only (`eventloop`: the event-loop delay
 * monitor, a 10 ms libuv timer; `gc`: the PerformanceObserver called after every garbage
 * collection). `--sockets N` holds N connected socket pairs (2N handles and descriptors, which
 * the handle and open-fd metrics walk at each scrape); `--churn` allocates short-lived garbage
 * every millisecond, so that minor GCs run as often as under message load.
 *
 *   node --import tsx bench/default-metrics-cost.ts --mode defaults --sockets 5000 --churn
 *
 * Prints one JSON line: CPU ms per second over `--seconds` (default 60, after 3 s of warm-up),
 * the mean and largest scrape time, and the GCs seen. Not part of `npm run bench`.
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'off' },
    sockets: { type: 'string', default: '0' },
    churn: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '60' },
  },
});
const mode = values.mode as 'off' | 'defaults' | 'eventloop' | 'gc';
const seconds = Number(values.seconds);

/** Holds `n` connected socket pairs on loopback. */
async function holdSockets(n: number): Promise<Socket[]> {
  const held: Socket[] = [];
  const server = createServer((socket) => held.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  for (let i = 0; i < n; i++) {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    held.push(socket);
  }
  return held;
}

/** Short-lived objects every millisecond: about 20 MB a second of garbage. */
function churn(): NodeJS.Timeout {
  const holder: { sink?: unknown } = globalThis as { sink?: unknown };
  return setInterval(() => {
    const batch = [];
    for (let i = 0; i < 400; i++) batch.push({ topic: `t/${i}`, payload: new Uint8Array(32) });
    holder.sink = batch;
  }, 1);
}

async function main(): Promise<void> {
  const registry = new Registry();
  // A few metrics of our own, so that a scrape has something besides the defaults.
  const counter = new Counter({ name: 'x_total', help: 'x', registers: [registry] });
  counter.inc();
  if (mode === 'defaults') collectDefaultMetrics({ register: registry });
  if (mode === 'eventloop') monitorEventLoopDelay({ resolution: 10 }).enable();
  let gcs = 0;
  const gcCounter = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  gcCounter.observe({ entryTypes: ['gc'] });
  if (mode === 'gc') new PerformanceObserver(() => {}).observe({ entryTypes: ['gc'] });
  const held = await holdSockets(Number(values.sockets));
  const churning = values.churn ? churn() : undefined;
  const scrapeMs: number[] = [];
  const scraper = setInterval(async () => {
    const started = performance.now();
    await registry.metrics();
    scrapeMs.push(performance.now() - started);
  }, 1000);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  scrapeMs.length = 0;
  gcs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const elapsedS = (performance.now() - t0) / 1000;
  clearInterval(scraper);
  if (churning) clearInterval(churning);
  for (const socket of held) socket.destroy();
  const mean = scrapeMs.reduce((a, b) => a + b, 0) / Math.max(1, scrapeMs.length);
  process.stdout.write(
    `${JSON.stringify({
      mode,
      sockets: Number(values.sockets),
      churn: values.churn,
      cpuMsPerS: Number(((cpu.user + cpu.system) / 1000 / elapsedS).toFixed(2)),
      scrapeMeanMs: Number(mean.toFixed(2)),
      scrapeMaxMs: Number(Math.max(...scrapeMs).toFixed(2)),
      gcsPerS: Number((gcs / elapsedS).toFixed(1)),
    })}\n`,
  );
  process.exit(0);
}

void main();
