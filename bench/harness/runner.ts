/**
 * Runs one comparison scenario against one freshly started broker and samples the broker
 * process (CPU time while measuring, memory) around the load generator's phases.
 */

import type { LatencySummary } from '../../src/bench/histogram.js';
import { type BenchOptions, type BenchResult, runBench } from '../../src/bench/index.js';
import type { Transport } from '../../src/bench/transport.js';
import { type BrokerName, startBroker } from './brokers.js';
import { C_GENERATOR, NODE_GENERATOR } from './c-load.js';
import { runCConnect } from './c-load-connect.js';
import { type CFaninResult, runCFanin } from './c-load-fanin.js';
import type { ComparisonScenario } from './matrix.js';
import { readCpuMs, readMemory } from './proc-stats.js';
import { type Scraper, startScraper } from './scraper.js';
import { type WarmUp, warmUpBroker } from './warm-up.js';

/** Settings shared by every run of a comparison. */
export interface RunSettings {
  cwd: string;
  durationMs: number;
  warmupMs: number;
  /** How long the conn scenario holds its connections. */
  holdMs: number;
  /**
   * How long the conn scenario also holds half of its connections, half-way through the
   * burst (0: only the 500 ms it always waits), so that the second half's cost can be read
   * between two settled heaps (`marginalHeldKiBPerConn`).
   */
  halfHoldMs?: number;
  /** Pin the broker to core 0 (the harness pins itself to core 1). */
  pin: boolean;
  /** The `batch` option of the flat-out scenarios (the fixed-rate one always sends at once). */
  batch: number;
  /** The compiled C load generator, for the scenarios with a `cLoad` plan; absent: Node. */
  cLoadBinary?: string;
}

/** One broker on one scenario in one round. */
export interface Sample {
  scenario: string;
  broker: BrokerName;
  transport: Transport;
  round: number;
  /** The load generator that ran it: mqtt-load (C) or pipit bench (Node). */
  generator?: string;
  error?: string;
  result?: BenchResult;
  /** mqtt-load's conn runs: latency from the CONNECT's write to the CONNACK. */
  connackLatency?: LatencySummary;
  /** mqtt-load's fan-in runs: how late messages left after their due time, and skips. */
  sendLag?: LatencySummary;
  skipped?: CFaninResult['skipped'];
  /** Broker CPU (user + system) per delivered message while measuring, in microseconds. */
  brokerCpuUsPerMsg?: number;
  /** Broker CPU while measuring, percent of one core. */
  brokerCpuPercent?: number;
  /** VmHWM at the end of the run. */
  peakRssMiB?: number;
  /** conn: (RSS with the connections open - RSS before) / connections. */
  memPerConnKiB?: number;
  /**
   * conn: (RSS with all connections open - RSS with half of them open) / the second half:
   * what one more connection costs, free of fixed growth at start (a Node process grows its
   * young generation by ~19 MB while the first connections open).
   */
  marginalKiBPerConn?: number;
  /**
   * conn: the same as memPerConnKiB, read at the end of the hold (`--hold` seconds with every
   * connection open and idle): what an idle connection costs once the connect burst's garbage
   * has been collected (V8 shrinks its heap some seconds after allocation stops).
   */
  memPerConnHeldKiB?: number;
  /**
   * conn with `halfHoldMs`: (RSS at the end of the hold - RSS at the end of the half-way
   * hold) / the second half: what one more idle connection costs, both heaps settled.
   */
  marginalHeldKiBPerConn?: number;
  /** conn: broker CPU (user + system) while the connections were opened, per connection, µs. */
  brokerCpuUsPerConn?: number;
  /** conn with `warmConnections` (`--warm N`): the warm-up the broker had before the burst. */
  warmUp?: WarmUp;
  /** `pipit-ops`: /metrics scrapes during the measured run, and how many failed. */
  scrapes?: { ok: number; failed: number; bytes: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The batch a scenario runs with: `batch` when it publishes flat out, else 1. */
export function batchOf(sc: ComparisonScenario, batch: number): number {
  return sc.kind === 'throughput' && sc.options.rate === undefined ? batch : 1;
}

/** Starts `broker`, runs `sc` against it, stops it; failures become a sample with `error`. */
export async function runSample(
  sc: ComparisonScenario,
  broker: BrokerName,
  transport: Transport,
  round: number,
  s: RunSettings,
): Promise<Sample> {
  const c = s.cLoadBinary !== undefined && transport === 'tcp' ? sc.cLoad : undefined;
  const sample: Sample = {
    scenario: sc.id,
    broker,
    transport,
    round,
    generator: c ? C_GENERATOR : NODE_GENERATOR,
  };
  /** The generator: mqtt-load for a scenario with a plan (and the tool), else the Node engine. */
  const generate = async (o: BenchOptions, measured = true): Promise<BenchResult> => {
    if (c?.mode === 'connect' && s.cLoadBinary) {
      const run = await runCConnect(s.cLoadBinary, c.inFlight, o);
      if (measured) sample.connackLatency = run.connected.connackLatency;
      return run.result;
    }
    if (c?.mode === 'fanin' && s.cLoadBinary) {
      const { run, result } = await runCFanin(s.cLoadBinary, c, o);
      sample.sendLag = run.lag;
      sample.skipped = run.skipped;
      return result;
    }
    return runBench(o);
  };
  let proc: Awaited<ReturnType<typeof startBroker>> | undefined;
  try {
    proc = await startBroker(broker, { cwd: s.cwd, core: s.pin ? 0 : undefined, transport });
    const pid = proc.pid;
    await sleep(300);
    const load: BenchOptions = {
      ...sc.options,
      host: proc.host,
      port: proc.port,
      transport,
      ca: proc.ca,
      batch: batchOf(sc, s.batch),
      warmupMs: s.warmupMs,
    };
    if (sc.warmConnections !== undefined && sc.warmConnections > 0) {
      // Before the memory baseline: the warm broker's figures count from its warm state.
      const warm = (o: BenchOptions) => generate(o, false);
      sample.warmUp = await warmUpBroker(warm, load, sc.warmConnections, pid);
    }
    const before = readMemory(pid).rssKiB;
    let cpu0 = 0;
    let cpu1 = 0;
    let t0 = 0;
    let t1 = 0;
    let rssWithConns = 0;
    let rssHeld = 0;
    let rssHalf = 0;
    let rssHalfHeld = 0;
    let establishedHalf = 0;
    let cpuPaused = 0;
    const cpuStart = readCpuMs(pid);
    let cpuConnecting = 0;
    let scraper: Scraper | undefined;
    const metricsUrl = proc.metricsUrl;
    const result = await generate({
      ...load,
      durationMs: sc.kind === 'conn' ? s.holdMs : s.durationMs,
      onMeasureStart: async () => {
        if (sc.kind === 'conn') {
          cpuConnecting = readCpuMs(pid) - cpuStart - cpuPaused;
          await sleep(500);
          rssWithConns = readMemory(pid).rssKiB;
        }
        cpu0 = readCpuMs(pid);
        t0 = performance.now();
        if (metricsUrl) scraper = startScraper(metricsUrl, 1000);
      },
      onHalfConnected:
        sc.kind === 'conn'
          ? async (established) => {
              const cpuPause0 = readCpuMs(pid);
              await sleep(500);
              rssHalf = readMemory(pid).rssKiB;
              establishedHalf = established;
              if (s.halfHoldMs !== undefined && s.halfHoldMs > 0) {
                await sleep(s.halfHoldMs);
                rssHalfHeld = readMemory(pid).rssKiB;
              }
              cpuPaused = readCpuMs(pid) - cpuPause0;
            }
          : undefined,
      onMeasureEnd: async () => {
        cpu1 = readCpuMs(pid);
        t1 = performance.now();
        if (sc.kind === 'conn') rssHeld = readMemory(pid).rssKiB;
        const stats = await scraper?.stop();
        if (stats)
          sample.scrapes = { ok: stats.scrapes, failed: stats.failures, bytes: stats.lastBytes };
      },
    });
    sample.result = result;
    sample.peakRssMiB = Math.round(readMemory(pid).peakKiB / 102.4) / 10;
    sample.brokerCpuPercent = Math.round(((cpu1 - cpu0) / Math.max(1, t1 - t0)) * 1000) / 10;
    if (result.delivered > 0) {
      sample.brokerCpuUsPerMsg = Math.round(((cpu1 - cpu0) * 1000 * 100) / result.delivered) / 100;
    }
    const established = result.connections?.established ?? 0;
    if (sc.kind === 'conn' && established > 0) {
      sample.memPerConnKiB = Math.round(((rssWithConns - before) / established) * 100) / 100;
      if (rssHeld > 0 && s.holdMs > 0) {
        sample.memPerConnHeldKiB = Math.round(((rssHeld - before) / established) * 100) / 100;
      }
      sample.brokerCpuUsPerConn = Math.round((cpuConnecting * 1000) / established);
      if (established > establishedHalf && establishedHalf > 0) {
        const kib = (rssWithConns - rssHalf) / (established - establishedHalf);
        sample.marginalKiBPerConn = Math.round(kib * 100) / 100;
        if (rssHalfHeld > 0 && rssHeld > 0 && s.holdMs > 0) {
          const held = (rssHeld - rssHalfHeld) / (established - establishedHalf);
          sample.marginalHeldKiBPerConn = Math.round(held * 100) / 100;
        }
      }
    }
  } catch (err) {
    sample.error = (err as Error).message.split('\n')[0];
  } finally {
    await proc?.stop();
  }
  return sample;
}
