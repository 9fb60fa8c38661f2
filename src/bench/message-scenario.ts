/**
 * Runs fanin, fanout and pairs: open subscribers, then publishers, warm up, measure, drain,
 * then count what was lost, duplicated or reordered.
 */
import { randomInt } from 'node:crypto';
import { RunContext } from './context.js';
import { startRateDriver, startWindowDriver } from './drivers.js';
import { type ResolvedOptions, streamOptionsOf } from './options.js';
import { ProgressReporter } from './progress.js';
import { BenchPublisher } from './publisher.js';
import { RawConnection } from './raw-connection.js';
import { BenchSubscriber } from './subscriber.js';
import { buildTopology, mapLimit, pause, sleep, type Topology } from './topology.js';
import { BenchInterruptedError, type BenchResult, type ClientCpu } from './types.js';

const SETUP_CONCURRENCY = 50;
const SETUP_TIMEOUT_MS = 10_000;

interface Snapshot {
  sent: number;
  delivered: number;
  cpu: NodeJS.CpuUsage;
  ms: number;
}

function snapshot(ctx: RunContext): Snapshot {
  return {
    sent: ctx.sent,
    delivered: ctx.delivered,
    cpu: process.cpuUsage(),
    ms: performance.now(),
  };
}

async function openRoles(
  o: ResolvedOptions,
  topo: Topology,
  ctx: RunContext,
  conns: RawConnection[],
): Promise<{ subs: BenchSubscriber[]; pubs: BenchPublisher[] }> {
  const tag = ctx.runTag.toString(36);
  const portOf = (ports: readonly number[] | undefined, i: number): number =>
    ports === undefined || ports.length === 0 ? o.port : ports[i % ports.length]!;
  const open = async (clientId: string, port: number): Promise<RawConnection> => {
    const c = await RawConnection.open({
      ...streamOptionsOf(o),
      port,
      clientId,
      protocolVersion: o.protocolVersion,
      keepAlive: 60,
      username: o.username,
      password: o.password,
      timeoutMs: SETUP_TIMEOUT_MS,
    });
    conns.push(c);
    c.onClose = () => {
      if (ctx.running) ctx.errors++;
    };
    return c;
  };
  const subs = await mapLimit(topo.subscriberFilters, SETUP_CONCURRENCY, async (filter, i) => {
    const c = await open(`pb-${tag}-s${i}`, portOf(o.subscriberPorts, i));
    await c.subscribe(filter, o.qos, SETUP_TIMEOUT_MS);
    return new BenchSubscriber(c, ctx);
  });
  const pubs = await mapLimit(topo.publisherTopics, SETUP_CONCURRENCY, async (topic, index) => {
    const c = await open(`pb-${tag}-p${index}`, portOf(o.publisherPorts, index));
    const cfg = {
      index,
      topic,
      qos: o.qos,
      payloadSize: o.payloadSize,
      protocolVersion: o.protocolVersion,
      window: o.window,
      fanFactor: topo.fanFactor,
      batch: o.batch,
    };
    return new BenchPublisher(c, cfg, ctx);
  });
  return { subs, pubs };
}

async function drain(pubs: readonly BenchPublisher[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && !pubs.every((p) => p.idle || p.conn.closed)) {
    await sleep(10);
  }
}

function cpuOf(a: Snapshot, b: Snapshot): ClientCpu {
  const userMs = (b.cpu.user - a.cpu.user) / 1000;
  const systemMs = (b.cpu.system - a.cpu.system) / 1000;
  const wall = Math.max(1, b.ms - a.ms);
  return { userMs, systemMs, percent: Math.round(((userMs + systemMs) / wall) * 1000) / 10 };
}

/** Short drain after Ctrl-C: in-flight messages get a moment, the user does not wait long. */
const INTERRUPTED_DRAIN_MS = 1000;

/** The measured window; stops early when `signal` aborts. Returns the phase it stopped in. */
async function measure(
  o: ResolvedOptions,
  ctx: RunContext,
  progress: ProgressReporter,
): Promise<{ s0: Snapshot; s1: Snapshot; interrupted?: 'warmup' | 'measure' }> {
  const warm = snapshot(ctx);
  progress.phase('warmup', o.warmupMs);
  await pause(o.warmupMs, o.signal);
  // Stopped during the warm-up: what ran so far is all there is to report.
  if (o.signal?.aborted) return { s0: warm, s1: snapshot(ctx), interrupted: 'warmup' };
  await o.onMeasureStart?.();
  ctx.latency.reset();
  const s0 = snapshot(ctx);
  ctx.measuring = true;
  progress.phase('measure', o.durationMs);
  await pause(o.durationMs, o.signal);
  ctx.measuring = false;
  const s1 = snapshot(ctx);
  await o.onMeasureEnd?.();
  return o.signal?.aborted ? { s0, s1, interrupted: 'measure' } : { s0, s1 };
}

/** Runs one fanin, fanout or pairs benchmark. */
export async function runMessageScenario(o: ResolvedOptions): Promise<BenchResult> {
  const ctx = new RunContext(randomInt(1, 2 ** 32 - 1));
  const scenario = o.scenario as Exclude<typeof o.scenario, 'conn'>;
  const topo = buildTopology(scenario, o.count, `pipit-bench/${ctx.runTag.toString(36)}`);
  const conns: RawConnection[] = [];
  const progress = new ProgressReporter(o, ctx, () => conns.length);
  try {
    const { subs, pubs } = await openRoles(o, topo, ctx, conns);
    if (o.signal?.aborted) throw new BenchInterruptedError(conns.length);
    ctx.running = true;
    if (o.rate !== undefined) startRateDriver(ctx, pubs, o.rate, o.pace);
    else startWindowDriver(ctx, pubs);
    const { s0, s1, interrupted } = await measure(o, ctx, progress);
    ctx.running = false;
    const drainMs = interrupted
      ? Math.min(o.drainTimeoutMs, INTERRUPTED_DRAIN_MS)
      : o.drainTimeoutMs;
    progress.phase('drain', drainMs);
    await drain(pubs, drainMs);
    const result = buildResult(o, topo, ctx, subs, pubs, s0, s1);
    const stoppedIn = interrupted ?? (o.signal?.aborted ? 'drain' : undefined);
    return stoppedIn ? { ...result, interrupted: stoppedIn } : result;
  } finally {
    progress.stop();
    ctx.running = false;
    await Promise.all(conns.map((c) => c.close()));
  }
}

function buildResult(
  o: ResolvedOptions,
  topo: Topology,
  ctx: RunContext,
  subs: readonly BenchSubscriber[],
  pubs: readonly BenchPublisher[],
  s0: Snapshot,
  s1: Snapshot,
): BenchResult {
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  subs.forEach((s, i) => {
    for (const p of topo.sources[i]) lost += s.tracker.lost(p, pubs[p].sent);
    duplicated += s.tracker.counts.duplicated;
    outOfOrder += s.tracker.counts.outOfOrder;
  });
  const seconds = (s1.ms - s0.ms) / 1000;
  const sent = s1.sent - s0.sent;
  const delivered = s1.delivered - s0.delivered;
  const cpu = cpuOf(s0, s1);
  return {
    scenario: o.scenario,
    host: o.host,
    port: o.port,
    protocolVersion: o.protocolVersion,
    qos: o.qos,
    payloadSize: o.payloadSize,
    publishers: pubs.length,
    subscribers: subs.length,
    rate: o.rate,
    ...(o.rate !== undefined && { pace: o.pace }),
    transport: o.transport,
    batch: pubs.reduce((most, p) => Math.max(most, p.batch), 1),
    writes: ctx.writes,
    packetsPerWrite: ctx.writes ? Math.round((ctx.sent / ctx.writes) * 100) / 100 : 0,
    minPacketsPerWrite: ctx.writes ? ctx.minPerWrite : 0,
    seconds: Math.round(seconds * 1000) / 1000,
    sent,
    delivered,
    sentPerSec: Math.round(sent / seconds),
    deliveredPerSec: Math.round(delivered / seconds),
    latency: ctx.latency.summary(),
    totalSent: ctx.sent,
    totalDelivered: ctx.delivered,
    lost,
    duplicated,
    outOfOrder,
    errors: ctx.errors,
    cpu,
    clientBound: cpu.percent > 90,
  };
}
