/**
 * Runs mqtt-load's fanin mode (P publishers -> 1 subscriber at a fixed total rate, each
 * message alone at its own time) with the harness's measure hooks, and returns what
 * `runBench` returns for a fixed-rate fan-in, so the comparison's tables read it unchanged.
 */
import type { LatencySummary } from '../../src/bench/histogram.js';
import type { BenchOptions, BenchResult } from '../../src/bench/index.js';
import { startCLoad } from './c-load-process.js';

/** The "result" line of a fanin run. */
export interface CFaninResult {
  publishers: number;
  qos: 0 | 1;
  payload: number;
  rate: number;
  version: 4 | 5;
  /** The publishers' port and the subscriber's (another cluster node's, or the same). */
  port: number;
  subPort: number;
  /** How close to a due time it polls instead of sleeping (µs; 0: it sleeps to each). */
  spinUs: number;
  seconds: number;
  /** Sent (by due time) and delivered (by arrival) while measuring. */
  sent: number;
  delivered: number;
  sentPerSec: number;
  deliveredPerSec: number;
  /** Of the messages sent while measuring, from the send to the subscriber's read; ms. */
  latency: LatencySummary;
  /** How late each message left after its due time (the generator's own lag); ms. */
  lag: LatencySummary;
  totalSent: number;
  totalDelivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Messages not sent: a QoS 1 window full, or a socket the broker did not drain. */
  skipped: number;
  writes: number;
  errors: number;
  cpu: { userMs: number; systemMs: number; percent: number };
  interrupted: boolean;
  firstError: string;
}

/** How the comparison runs a fan-in on mqtt-load. */
export interface FaninPlan {
  /** Publishers (one subscriber). */
  publishers: number;
  /** Total msg/s, evenly spaced: publisher i offset by i/P of its period. */
  rate: number;
  qos: 0 | 1;
  /**
   * `--spin-us`: how close to a due time it polls instead of sleeping, µs (the tool's default
   * 2000 when unset: at 10k msg/s it never sleeps; 0: it sleeps to each due time).
   */
  spinUs?: number;
}

const ms3 = (v: number): number => Math.round(v * 1000) / 1000;

/**
 * A run whose messages left later than this at the p99 (ms) was the generator's limit: its
 * latency includes its own delay. mqtt-load polls its core near every due time (its CPU is
 * ~100% by design), so the lag, not its CPU, says whether it kept up.
 */
export const CLIENT_BOUND_LAG_P99_MS = 1;

function latencyOf(l: LatencySummary): LatencySummary {
  return {
    count: l.count,
    p50: ms3(l.p50),
    p90: ms3(l.p90),
    p99: ms3(l.p99),
    max: ms3(l.max),
    mean: ms3(l.mean),
  };
}

/**
 * Where the publishers and the subscriber connect: `publisherPorts` / `subscriberPorts` as
 * the Node generator reads them (bench/cluster.bench.ts puts them on two cluster nodes), else
 * `port`. mqtt-load connects all its publishers to one port and its subscriber to one.
 * @throws RangeError for more than one port in either list.
 */
export function faninPorts(o: BenchOptions): { port: number; subPort: number } {
  const one = (name: string, ports: readonly number[] | undefined): number => {
    if (ports !== undefined && ports.length > 1) {
      throw new RangeError(`mqtt-load fanin takes one port for ${name}, got ${ports.join(',')}`);
    }
    return ports?.[0] ?? o.port ?? 1883;
  };
  return {
    port: one('publisherPorts', o.publisherPorts),
    subPort: one('subscriberPorts', o.subscriberPorts),
  };
}

/** The command line of a fanin run. */
export function faninArgs(o: BenchOptions, plan: FaninPlan): string[] {
  const s = (ms: number | undefined, fallback: number) => String((ms ?? fallback) / 1000);
  const { port, subPort } = faninPorts(o);
  return [
    'fanin',
    ...['--host', o.host ?? '127.0.0.1', '--port', String(port), '--sub-port', String(subPort)],
    ...['--publishers', String(plan.publishers), '--rate', String(plan.rate)],
    ...['--qos', String(plan.qos), '--payload', String(o.payloadSize ?? 64)],
    ...['--warmup', s(o.warmupMs, 2000), '--duration', s(o.durationMs, 10_000)],
    ...['--drain', s(o.drainTimeoutMs, 5000), '--version', String(o.protocolVersion ?? 4)],
    ...(plan.spinUs === undefined ? [] : ['--spin-us', String(plan.spinUs)]),
  ];
}

/** A fixed-rate fan-in's BenchResult from mqtt-load's figures. */
export function faninResultOf(o: BenchOptions, r: CFaninResult): BenchResult {
  return {
    scenario: 'fanin',
    host: o.host ?? '127.0.0.1',
    port: r.port,
    protocolVersion: r.version,
    qos: r.qos,
    payloadSize: r.payload,
    publishers: r.publishers,
    subscribers: 1,
    rate: r.rate,
    transport: 'tcp',
    batch: 1,
    writes: r.writes,
    packetsPerWrite: r.writes ? Math.round((r.totalSent / r.writes) * 100) / 100 : 0,
    minPacketsPerWrite: r.writes ? 1 : 0,
    seconds: r.seconds,
    sent: r.sent,
    delivered: r.delivered,
    sentPerSec: Math.round(r.sentPerSec),
    deliveredPerSec: Math.round(r.deliveredPerSec),
    latency: latencyOf(r.latency),
    totalSent: r.totalSent,
    totalDelivered: r.totalDelivered,
    lost: r.lost,
    duplicated: r.duplicated,
    outOfOrder: r.outOfOrder,
    // Messages it could not send on time count too: the run was not what was asked.
    errors: r.errors + r.skipped,
    cpu: { userMs: r.cpu.userMs, systemMs: r.cpu.systemMs, percent: r.cpu.percent },
    clientBound: r.lag.p99 > CLIENT_BOUND_LAG_P99_MS,
    ...(r.interrupted ? { interrupted: 'measure' as const } : {}),
  };
}

/**
 * Runs a fixed-rate fan-in on mqtt-load, calling `onMeasureStart` and `onMeasureEnd` as it
 * says measuring starts and ends (the harness reads the broker's CPU there).
 */
export async function runCFanin(
  binary: string,
  plan: FaninPlan,
  o: BenchOptions,
): Promise<{ run: CFaninResult; result: BenchResult }> {
  const load = startCLoad(binary, faninArgs(o, plan), 'ignore', o);
  const { child } = load;
  let run: CFaninResult | undefined;
  try {
    for await (const line of load.lines) {
      const ev = JSON.parse(line) as { event: string };
      if (ev.event === 'measure-start') await o.onMeasureStart?.();
      else if (ev.event === 'measure-end') await o.onMeasureEnd?.();
      else if (ev.event === 'result') run = ev as unknown as CFaninResult;
    }
  } finally {
    // A hook that threw: stop the run.
    if (run === undefined && child.exitCode === null) child.kill('SIGTERM');
  }
  const code = await load.exited;
  if (!run || code !== 0) {
    throw new Error(`mqtt-load fanin failed (exit ${code}): ${load.stderr()}`);
  }
  return { run, result: faninResultOf(o, run) };
}
