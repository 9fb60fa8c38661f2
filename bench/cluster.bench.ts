/**
 * The cluster benchmark (issue #11): Pipit and Aedes, each as one node and as two nodes over
 * one redis-server (setups: bench/harness/cluster-setups.ts), driven by `npm run bench`'s
 * load generators: the Node one (src/bench) in this process, and for the `*-c-*` rows
 * mqtt-load (bench/tools/mqtt-load, C, a process of its own; bench/harness/cluster-c-load.ts).
 * Every row names its generator.
 *
 * Scenarios (bench/harness/cluster-scenarios.ts): on a two-node setup the publishers connect
 * to node A and the subscribers to node B (every message crosses), except `spread-pairs`,
 * whose pairs sit each on one node, half on each (what two nodes add on this machine); on one
 * node everything is on that node.
 * - `cross-fanin-q0/q1`: fan-in 10→1 flat out (window 100 per publisher), Node generator;
 * - `cross-pairs-q0/q1`: 100 pairs flat out, Node generator;
 * - `cross-latency-q1`: 10 pairs at 10k msg/s in all, QoS 1, Node generator ('timer' pace:
 *   what is due leaves every 1-3 ms, in small bursts);
 * - `spread-pairs-q1`: 100 pairs flat out, each pair on one node, Node generator;
 * - `cross-latency-c-q1/q0`: fan-in 10→1 at 10k msg/s in all, on mqtt-load: each message
 *   alone in its own write at its due time (100 µs apart), the subscriber on B by `--sub-port`;
 *   the tool sleeps to each due time here (`--c-spin-us`, bench/harness/cluster-c-load.ts),
 *   and marks a run client-bound when its messages left over 1 ms late at the p99. No
 *   saturation row runs on it: its QoS 0 has no flow control (over capacity the excess waits
 *   in socket buffers, megabytes on the loopback, so latency is buffer depth and messages
 *   still buffered after the drain count as lost), and its QoS 1 window counts PUBACKs from
 *   node A, which do not bound node B's backlog.
 * Nothing is pinned: brokers, Redis and the generator share the machine's cores. Broker CPU
 * counts every broker process and redis-server, and so does their run-queue wait (the time
 * they were runnable but waited for a CPU, /proc/<pid>/schedstat): on a machine busier than
 * its cores, that is where a cross-node message, which needs three processes to run where one
 * node needs one, spends most of its time.
 *
 *   node --import tsx bench/cluster.bench.ts [--rounds 3] [--duration 5] [--warmup 1]
 *     [--only pipit-1,pipit-2,cross-fanin-q1,...] [--base DIR (adds pipit-2-base)]
 *     [--redis-unix (adds pipit-2-unix)] [--replica (adds pipit-2-wait)] [--detail]
 *     [--only ...,pipit-2-q0 (two nodes with cluster.qos0Channel: true)]
 *     [--c-spin-us 0 (mqtt-load's --spin-us: 2000 polls as `npm run bench` does)]
 *
 * `--detail` prints under each run each broker process's user and system CPU and context
 * switches per message, and the Redis commands per message (`INFO commandstats`).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchResult } from '../src/bench/index.js';
import { ensurePipitBuilt } from './harness/brokers.js';
import { generatorOf, generatorsLine, runGenerator } from './harness/cluster-c-load.js';
import { type ClusterScenario, placement, SCENARIOS } from './harness/cluster-scenarios.js';
import {
  EXTRA_SETUPS,
  type RunningSetup,
  SETUPS,
  type SetupName,
  startSetup,
} from './harness/cluster-setups.js';
import { readCpuMs, readRunQueueWaitMs } from './harness/proc-stats.js';
import { WindowDetail } from './harness/process-detail.js';
import { median } from './harness/summary.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';

/**
 * `--base DIR`: a second Pipit build (DIR/dist/cli/main.js, e.g. a copy of main's dist kept
 * in the worktree so that it finds node_modules) run as `pipit-2-base` alongside `pipit-2`,
 * in the same rounds: a before/after of the cluster path in one time window.
 */
let baseDir: string | undefined;
/** `--detail`: per-process CPU and Redis commands per message under each run. */
let detail = false;
/** `--c-spin-us N`: mqtt-load's `--spin-us` (0: it sleeps to each due time; cluster-c-load.ts). */
let cSpinUs = 0;

interface Sample {
  setup: SetupName;
  scenario: string;
  /** The load generator that drove it (`mqtt-load (C)` or `pipit bench (Node)`). */
  generator: string;
  result?: BenchResult;
  /** mqtt-load: how late its messages left at the p99, ms. */
  sendLagP99Ms?: number;
  brokerCpuUsPerMsg?: number;
  /**
   * Per measured second, the milliseconds the broker processes (and redis-server) spent
   * runnable but waiting for a CPU, summed: what a busy machine adds to every hop.
   */
  runQueueWaitMsPerS?: number;
  /** The same CPU per process (two nodes: redis-server, node A, node B), µs per message. */
  cpuSplitUsPerMsg?: number[];
  /** `--detail`: the lines printed under the run. */
  detail?: string[];
  error?: string;
}

async function runOne(
  sc: ClusterScenario,
  setup: SetupName,
  durationMs: number,
  warmupMs: number,
): Promise<Sample> {
  const sample: Sample = { setup, scenario: sc.id, generator: generatorOf(sc) };
  let running: RunningSetup | undefined;
  try {
    running = await startSetup({ root, baseDir }, setup);
    const pids = running.pids;
    const cpu = (): number => pids.reduce((sum, pid) => sum + readCpuMs(pid), 0);
    const wait = (): number => pids.reduce((sum, pid) => sum + readRunQueueWaitMs(pid), 0);
    let split0: number[] = [];
    let split1: number[] = [];
    let cpu0 = 0;
    let cpu1 = 0;
    let wait0 = 0;
    let wait1 = 0;
    const names =
      pids.length === 4
        ? ['redis', 'replica', 'A', 'B']
        : pids.length === 3
          ? ['redis', 'A', 'B']
          : ['broker'];
    const details = detail ? new WindowDetail(pids, names, running.redisPort) : undefined;
    const run = await runGenerator(
      root,
      sc,
      {
        ...sc.options,
        ...placement(sc, running.ports),
        host: HOST,
        durationMs,
        warmupMs,
        onMeasureStart: async () => {
          await details?.read();
          split0 = pids.map(readCpuMs);
          cpu0 = cpu();
          wait0 = wait();
        },
        onMeasureEnd: async () => {
          split1 = pids.map(readCpuMs);
          cpu1 = cpu();
          wait1 = wait();
          await details?.read();
        },
      },
      cSpinUs,
    );
    const result = run.result;
    sample.result = result;
    sample.sendLagP99Ms = run.sendLagP99Ms;
    if (result.delivered > 0) {
      sample.brokerCpuUsPerMsg = Math.round(((cpu1 - cpu0) * 1000 * 100) / result.delivered) / 100;
      sample.cpuSplitUsPerMsg = split1.map(
        (ms, i) => Math.round(((ms - split0[i]!) * 1000 * 100) / result.delivered) / 100,
      );
    }
    sample.detail = details?.lines(result.delivered);
    sample.runQueueWaitMsPerS = Math.round((wait1 - wait0) / (durationMs / 1000));
  } catch (err) {
    sample.error = (err as Error).message.split('\n')[0];
  } finally {
    await running?.stop();
  }
  return sample;
}

/**
 * A two-node sample's CPU per process: `[redis / A / B µs/msg: 1.2 / 3.4 / 5.6]` (with a
 * replica: `redis / replica / A / B`).
 */
function split(s: Sample): string {
  const parts = s.cpuSplitUsPerMsg;
  if (parts === undefined || parts.length < 3) return '';
  const names = parts.length === 4 ? 'redis / replica / A / B' : 'redis / A / B';
  return ` [${names} µs/msg: ${parts.map((n) => fmt(n, 2)).join(' / ')}]`;
}

/** mqtt-load's send lag: `, send lag p99 0.01 ms` (over 1 ms: client-bound). */
function lag(s: Sample): string {
  return s.sendLagP99Ms === undefined ? '' : `, send lag p99 ${fmt(s.sendLagP99Ms, 3)} ms`;
}

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function report(samples: Sample[], scenarios: readonly ClusterScenario[], setups: SetupName[]) {
  console.log(
    '\n| scenario | setup | generator | delivered msg/s | p50 ms | p99 ms | broker CPU µs/msg | broker run-queue wait ms/s | lost / dup / ooo | client CPU % | runs |',
  );
  console.log('|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  const medians = new Map<string, { rate?: number; p99?: number }>();
  for (const sc of scenarios) {
    for (const setup of setups) {
      const mine = samples.filter((s) => s.scenario === sc.id && s.setup === setup);
      const ok = mine.filter((s) => s.result !== undefined);
      const rate = median(ok.map((s) => s.result!.deliveredPerSec));
      const p50 = median(ok.map((s) => s.result!.latency.p50));
      const p99 = median(ok.map((s) => s.result!.latency.p99));
      const cpu = median(ok.map((s) => s.brokerCpuUsPerMsg));
      const waited = median(ok.map((s) => s.runQueueWaitMsPerS));
      const client = median(ok.map((s) => s.result!.cpu.percent));
      const sum = (f: (r: BenchResult) => number) => ok.reduce((t, s) => t + f(s.result!), 0);
      const errors = mine.filter((s) => s.error).map((s) => s.error);
      // Runs whose generator could not keep to its schedule (its own delay is in the figures).
      const bound = ok.filter((s) => s.result!.clientBound).length;
      const runs = `${ok.length}/${mine.length}${bound ? `, ${bound} client-bound` : ''}`;
      medians.set(`${sc.id}/${setup}`, { rate, p99 });
      console.log(
        `| ${sc.title} | ${setup} | ${generatorOf(sc)} | ${fmt(rate)} | ${fmt(p50, 2)} | ${fmt(p99, 2)} | ${fmt(cpu, 2)} | ${fmt(waited)} | ${sum((r) => r.lost)} / ${sum((r) => r.duplicated)} / ${sum((r) => r.outOfOrder)} | ${fmt(client)} | ${runs}${errors.length ? ` (${errors[0]})` : ''} |`,
      );
    }
  }
  const unix = setups.includes('pipit-2-unix');
  // With --redis-unix: Redis on a Unix socket against one node, and against TCP.
  const unixHeads = unix ? ' Pipit 2 nodes, Unix socket / Pipit 1 node | Unix socket / TCP |' : '';
  // With --replica: what cluster.wait (one replica) costs against the same two nodes without.
  const waits = setups.includes('pipit-2-wait');
  const waitHeads = waits ? ' with cluster.wait / without |' : '';
  console.log(
    `\n| scenario | generator | Pipit 2 nodes / Pipit 1 node | Pipit 2 nodes / Aedes 2 nodes |${unixHeads}${waitHeads}`,
  );
  console.log(`|---|---|--:|--:|${unix ? '--:|--:|' : ''}${waits ? '--:|' : ''}`);
  const ratio = (a?: number, b?: number) =>
    a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`;
  for (const sc of scenarios) {
    const two = medians.get(`${sc.id}/pipit-2`);
    const one = medians.get(`${sc.id}/pipit-1`);
    const aedes = medians.get(`${sc.id}/aedes-2`);
    const overSocket = medians.get(`${sc.id}/pipit-2-unix`);
    const latency = sc.options.rate !== undefined;
    const cell = (x?: { rate?: number; p99?: number }) => (latency ? x?.p99 : x?.rate);
    const what = latency ? 'p99 (lower is better)' : 'msg/s (higher is better)';
    const unixCells = unix
      ? ` ${ratio(cell(overSocket), cell(one))} | ${ratio(cell(overSocket), cell(two))} |`
      : '';
    const waitCells = waits
      ? ` ${ratio(cell(medians.get(`${sc.id}/pipit-2-wait`)), cell(two))} |`
      : '';
    console.log(
      `| ${sc.title}: ${what} | ${generatorOf(sc)} | ${ratio(cell(two), cell(one))} | ${ratio(cell(two), cell(aedes))} |${unixCells}${waitCells}`,
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      only: { type: 'string' },
      base: { type: 'string' },
      'redis-unix': { type: 'boolean', default: false },
      replica: { type: 'boolean', default: false },
      detail: { type: 'boolean', default: false },
      'c-spin-us': { type: 'string', default: '0' },
    },
  });
  baseDir = values.base;
  detail = values.detail;
  cSpinUs = Number(values['c-spin-us']);
  if (!(Number.isInteger(cSpinUs) && cSpinUs >= 0 && cSpinUs <= 1e6)) {
    throw new RangeError('--c-spin-us must be an integer from 0 to 1000000');
  }
  const only = (values.only ?? '').split(',').filter(Boolean);
  const isSetup = (o: string): o is SetupName =>
    [...SETUPS, ...EXTRA_SETUPS].includes(o as SetupName);
  const setupPicks = only.filter(isSetup);
  const scenarioPicks = only.filter((o) => !isSetup(o));
  const setups = setupPicks.length > 0 ? setupPicks : [...SETUPS];
  if (baseDir !== undefined && !setups.includes('pipit-2-base')) setups.push('pipit-2-base');
  if (values['redis-unix'] && !setups.includes('pipit-2-unix')) setups.push('pipit-2-unix');
  if (values.replica && !setups.includes('pipit-2-wait')) setups.push('pipit-2-wait');
  if (setups.includes('pipit-2-base') && baseDir === undefined) {
    throw new RangeError('pipit-2-base needs --base DIR');
  }
  const scenarios = SCENARIOS.filter(
    (sc) => scenarioPicks.length === 0 || scenarioPicks.some((o) => sc.id.startsWith(o)),
  );
  if (scenarios.length === 0) throw new RangeError(`--only matches no scenario: ${only}`);
  const rounds = Number(values.rounds);
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  if (!(rounds >= 1 && durationMs > 0 && warmupMs >= 0)) {
    throw new RangeError('--rounds must be >= 1, --duration > 0, --warmup >= 0');
  }
  if (setups.some((s) => s.startsWith('pipit'))) ensurePipitBuilt(root);
  const samples: Sample[] = [];
  const started = new Date().toISOString();
  for (let round = 1; round <= rounds; round++) {
    for (const sc of scenarios) {
      // Rotate the order each round so no setup always runs first.
      const k = (round - 1) % setups.length;
      for (const setup of [...setups.slice(k), ...setups.slice(0, k)]) {
        const s = await runOne(sc, setup, durationMs, warmupMs);
        samples.push(s);
        const r = s.result;
        console.log(
          `round ${round} ${sc.id} ${setup}: ${s.error ?? `${fmt(r!.deliveredPerSec)} msg/s, p99 ${fmt(r!.latency.p99, 2)} ms, ${fmt(s.brokerCpuUsPerMsg, 2)} µs/msg, run-queue wait ${fmt(s.runQueueWaitMsPerS)} ms/s, lost ${r!.lost}${lag(s)}${split(s)} (${s.generator})`}`,
        );
        for (const line of s.detail ?? []) console.log(line);
      }
    }
  }
  console.log(
    `\nCluster benchmark, ${started}, ${rounds} round(s), ${values.warmup} s warm-up + ${values.duration} s measured, MQTT 3.1.1, 64-byte payloads; medians. Load generators:\n${generatorsLine(scenarios, cSpinUs)}`,
  );
  report(samples, scenarios, setups);
}

await main();
