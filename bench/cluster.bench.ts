/**
 * The cluster benchmark (issue #11): Pipit and Aedes, each as one node and as two nodes over
 * one redis-server, with the load generator of `npm run bench` (src/bench) in this process.
 *
 * Setups (each a fresh set of processes per run):
 * - `pipit-1`: one `pipit broker --memory` (the comparison's single node);
 * - `pipit-2`: two `pipit broker --cluster redis://...` nodes (the Redis store, their default);
 * - `pipit-2-unix` (`--redis-unix`): the same, with redis-server on a Unix socket only and the
 *   nodes on `--cluster unix://...` (what the socket saves against TCP on the loopback);
 * - `pipit-2-wait` (`--replica`): `pipit-2` with a replica of the redis-server and the nodes
 *   on `cluster.wait: { replicas: 1, timeout: 1 }` (what waiting for a replica costs; the
 *   replica's CPU counts as the broker's too);
 * - `aedes-1`: one Aedes, in memory (bench/brokers/aedes-server.mjs);
 * - `aedes-2`: two Aedes nodes as Aedes users cluster them: mqemitter-redis between nodes,
 *   aedes-persistence-redis for their state (bench/brokers/aedes-cluster-server.mjs).
 * Scenarios: on a two-node setup the publishers connect to node A and the subscribers to node
 * B (every message crosses), except `spread-pairs`, whose pairs sit each on one node, half
 * on each (what two nodes add on this machine); on one node everything is on that node.
 * Nothing is pinned: brokers, Redis and the generator share the machine's cores. Broker CPU
 * counts every broker process and redis-server, and so does their run-queue wait (the time
 * they were runnable but waited for a CPU, /proc/<pid>/schedstat): on a machine busier than
 * its cores, that is where a cross-node message, which needs three processes to run where one
 * node needs one, spends most of its time.
 *
 *   node --import tsx bench/cluster.bench.ts [--rounds 3] [--duration 5] [--warmup 1]
 *     [--only pipit-1,pipit-2,cross-fanin-q1,...] [--base DIR (adds pipit-2-base)]
 *     [--redis-unix (adds pipit-2-unix)] [--replica (adds pipit-2-wait)] [--detail]
 *
 * `--detail` prints under each run each broker process's user and system CPU and context
 * switches per message, and the Redis commands per message (`INFO commandstats`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchOptions, type BenchResult, runBench } from '../src/bench/index.js';
import { ensurePipitBuilt, freePort, stopChild, waitForPort } from './harness/brokers.js';
import { type BenchRedis, startBenchRedis, waitForReplicas } from './harness/cluster-redis.js';
import { readCpuMs, readRunQueueWaitMs } from './harness/proc-stats.js';
import { WindowDetail } from './harness/process-detail.js';
import { median } from './harness/summary.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';

type SetupName =
  | 'pipit-1'
  | 'pipit-2'
  | 'pipit-2-base'
  | 'pipit-2-unix'
  | 'pipit-2-wait'
  | 'aedes-1'
  | 'aedes-2';
const SETUPS: readonly SetupName[] = ['pipit-1', 'pipit-2', 'aedes-1', 'aedes-2'];
/** Setups added by a flag (`--base`, `--redis-unix`, `--replica`), also named in `--only`. */
const EXTRA_SETUPS: readonly SetupName[] = ['pipit-2-base', 'pipit-2-unix', 'pipit-2-wait'];

/**
 * `--base DIR`: a second Pipit build (DIR/dist/cli/main.js, e.g. a copy of main's dist kept
 * in the worktree so that it finds node_modules) run as `pipit-2-base` alongside `pipit-2`,
 * in the same rounds: a before/after of the cluster path in one time window.
 */
let baseDir: string | undefined;
/** `--detail`: per-process CPU and Redis commands per message under each run. */
let detail = false;

/** One scenario: the engine's options, and where each role connects on two nodes. */
interface ClusterScenario {
  id: string;
  title: string;
  options: Omit<BenchOptions, 'host' | 'port' | 'durationMs' | 'warmupMs'>;
  /** On two nodes: pubs on A, subs on B ('cross'), or each pair on one node ('spread'). */
  placement: 'cross' | 'spread';
}

const SCENARIOS: readonly ClusterScenario[] = [
  ...([0, 1] as const).map(
    (qos): ClusterScenario => ({
      id: `cross-fanin-q${qos}`,
      title: `fan-in 10→1, QoS ${qos}, publishers on A, subscriber on B`,
      options: { scenario: 'fanin', count: 10, qos },
      placement: 'cross',
    }),
  ),
  ...([0, 1] as const).map(
    (qos): ClusterScenario => ({
      id: `cross-pairs-q${qos}`,
      title: `100 pairs, QoS ${qos}, publishers on A, subscribers on B`,
      options: { scenario: 'pairs', count: 100, qos, window: 10 },
      placement: 'cross',
    }),
  ),
  {
    id: 'cross-latency-q1',
    title: 'latency, 10 pairs at 10k msg/s, QoS 1, publishers on A, subscribers on B',
    options: { scenario: 'pairs', count: 10, qos: 1, rate: 10_000 },
    placement: 'cross',
  },
  {
    id: 'spread-pairs-q1',
    title: '100 pairs, QoS 1, each pair on one node, half on each',
    options: { scenario: 'pairs', count: 100, qos: 1, window: 10 },
    placement: 'spread',
  },
];

/** A running setup: its client ports and the pids whose CPU counts as the broker's. */
interface RunningSetup {
  ports: number[];
  /** The redis-server's TCP port (two nodes over TCP). */
  redisPort?: number;
  pids: number[];
  stop(): Promise<void>;
}

/** Spawns a process that listens on `port`; resolves once it accepts connections. */
async function startListening(cmd: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-3000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  try {
    await waitForPort(port, 30_000, () => child.exitCode === null && child.signalCode === null);
  } catch (err) {
    await stopChild(child);
    throw new Error(`${cmd} ${args.join(' ')}: ${(err as Error).message}\n${tail}`);
  }
  return child;
}

/** One node of `setup` on a free port (`redis` for the two-node setups). */
async function startNode(
  setup: SetupName,
  redis: BenchRedis | undefined,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const node = process.execPath;
  // PIPIT_NODE_FLAGS: node flags for the Pipit nodes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
  const flags = (process.env.PIPIT_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const main = setup === 'pipit-2-base' ? join(baseDir!, 'dist/cli/main.js') : 'dist/cli/main.js';
  const pipit = [...flags, main, 'broker', '--port', String(port), '--host', HOST];
  const args =
    setup === 'pipit-1'
      ? [...pipit, '--memory']
      : setup.startsWith('pipit-2')
        ? [...pipit, ...clusterArgs(setup, redis!), '--sys-interval', '0']
        : setup === 'aedes-1'
          ? ['bench/brokers/aedes-server.mjs', '--port', String(port), '--host', HOST]
          : [
              'bench/brokers/aedes-cluster-server.mjs',
              '--port',
              String(port),
              '--host',
              HOST,
              '--redis-port',
              String(redis!.port),
            ];
  return { child: await startListening(node, args, port), port };
}

/**
 * How a two-node Pipit setup joins its Redis: `--cluster URL`, or for `pipit-2-wait` a config
 * file with the same URL and `wait` for one replica, 1 s at most (docs/cluster.md, "Replicas").
 */
function clusterArgs(setup: SetupName, redis: BenchRedis): string[] {
  if (setup !== 'pipit-2-wait') return ['--cluster', redis.url];
  const config = join(mkdtempSync(join(tmpdir(), 'pipit-bench-wait-')), 'pipit.yaml');
  writeFileSync(config, `cluster:\n  url: ${redis.url}\n  wait: { replicas: 1, timeout: 1 }\n`);
  return ['-c', config];
}

async function startSetup(setup: SetupName): Promise<RunningSetup> {
  const children: ChildProcess[] = [];
  let redis: BenchRedis | undefined;
  let replica: BenchRedis | undefined;
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) await stopChild(child);
    await replica?.stop();
    await redis?.stop();
  };
  try {
    if (setup.endsWith('-1')) {
      const node = await startNode(setup, undefined);
      children.push(node.child);
      return { ports: [node.port], pids: [node.child.pid!], stop };
    }
    redis = await startBenchRedis(root, setup === 'pipit-2-unix');
    if (setup === 'pipit-2-wait') {
      replica = await startBenchRedis(root, false, redis.port);
      await waitForReplicas(redis.port, 1);
    }
    const a = await startNode(setup, redis);
    children.push(a.child);
    const b = await startNode(setup, redis);
    children.push(b.child);
    // Let both nodes see each other (Pipit: leases and route tables) before clients come.
    await new Promise((r) => setTimeout(r, 1500));
    return {
      ports: [a.port, b.port],
      redisPort: redis.port || undefined,
      pids: [
        redis.child.pid!,
        ...(replica ? [replica.child.pid!] : []),
        a.child.pid!,
        b.child.pid!,
      ],
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Where publishers and subscribers connect, by placement. */
function placement(sc: ClusterScenario, ports: number[]): Partial<BenchOptions> {
  if (ports.length === 1) return { port: ports[0]! };
  const [a, b] = ports as [number, number];
  return sc.placement === 'cross'
    ? { port: a, publisherPorts: [a], subscriberPorts: [b] }
    : { port: a, publisherPorts: [a, b], subscriberPorts: [a, b] };
}

interface Sample {
  setup: SetupName;
  scenario: string;
  result?: BenchResult;
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
  const sample: Sample = { setup, scenario: sc.id };
  let running: RunningSetup | undefined;
  try {
    running = await startSetup(setup);
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
    const result = await runBench({
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
    });
    sample.result = result;
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

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function report(samples: Sample[], scenarios: readonly ClusterScenario[], setups: SetupName[]) {
  console.log(
    '\n| scenario | setup | delivered msg/s | p50 ms | p99 ms | broker CPU µs/msg | broker run-queue wait ms/s | lost / dup / ooo | client CPU % | runs |',
  );
  console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
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
      medians.set(`${sc.id}/${setup}`, { rate, p99 });
      console.log(
        `| ${sc.title} | ${setup} | ${fmt(rate)} | ${fmt(p50, 2)} | ${fmt(p99, 2)} | ${fmt(cpu, 2)} | ${fmt(waited)} | ${sum((r) => r.lost)} / ${sum((r) => r.duplicated)} / ${sum((r) => r.outOfOrder)} | ${fmt(client)} | ${ok.length}/${mine.length}${errors.length ? ` (${errors[0]})` : ''} |`,
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
    `\n| scenario | Pipit 2 nodes / Pipit 1 node | Pipit 2 nodes / Aedes 2 nodes |${unixHeads}${waitHeads}`,
  );
  console.log(`|---|--:|--:|${unix ? '--:|--:|' : ''}${waits ? '--:|' : ''}`);
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
      `| ${sc.title}: ${what} | ${ratio(cell(two), cell(one))} | ${ratio(cell(two), cell(aedes))} |${unixCells}${waitCells}`,
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
    },
  });
  baseDir = values.base;
  detail = values.detail;
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
          `round ${round} ${sc.id} ${setup}: ${s.error ?? `${fmt(r!.deliveredPerSec)} msg/s, p99 ${fmt(r!.latency.p99, 2)} ms, ${fmt(s.brokerCpuUsPerMsg, 2)} µs/msg, run-queue wait ${fmt(s.runQueueWaitMsPerS)} ms/s, lost ${r!.lost}${split(s)}`}`,
        );
        for (const line of s.detail ?? []) console.log(line);
      }
    }
  }
  console.log(
    `\nCluster benchmark, ${started}, ${rounds} round(s), ${values.warmup} s warm-up + ${values.duration} s measured, MQTT 3.1.1, 64-byte payloads; medians.`,
  );
  report(samples, scenarios, setups);
}

await main();
