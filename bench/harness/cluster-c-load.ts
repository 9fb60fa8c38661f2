/**
 * Which load generator runs a cluster benchmark row, and running it: the scenarios with a
 * `cLoad` plan on mqtt-load's fanin mode (bench/tools/mqtt-load, built on demand as for
 * `npm run bench`), the others on the Node generator (src/bench) in this process. Both give a
 * BenchResult and call the same measure hooks, so a row's broker CPU and run-queue wait are
 * read the same way whichever generator drove it.
 *
 * mqtt-load runs as its own process: the publishers connect to `publisherPorts[0]` (node A),
 * the subscriber to `subscriberPorts[0]` (`--sub-port`, node B), each message alone in its
 * own write at its due time. Here it sleeps to each due time by default (`--spin-us 0`), not
 * polling its core as in `npm run bench`: a polling generator holds one of this machine's
 * two cores whatever the load, which leaves two nodes and redis-server one core between them
 * and one node a core of its own, so it would weigh on exactly the ratio the rows are for
 * (`--c-spin-us 2000` runs them as `npm run bench` does). Without gcc its rows fail with the
 * reason: nothing else stands in for them (the Node rows ask the question with the other
 * generator).
 */
import { type BenchOptions, type BenchResult, runBench } from '../../src/bench/index.js';
import { C_GENERATOR, type CLoadTool, NODE_GENERATOR, prepareCLoad } from './c-load.js';
import { runCFanin } from './c-load-fanin.js';
import type { ClusterScenario } from './cluster-scenarios.js';

/** What drove a row and how it went, beside its BenchResult. */
export interface GeneratorRun {
  result: BenchResult;
  /** `mqtt-load (C)` or `pipit bench (Node)`. */
  generator: string;
  /** mqtt-load: how late its messages left at the p99 (ms); over 1 ms it is client-bound. */
  sendLagP99Ms?: number;
}

let tool: CLoadTool | undefined;

/** mqtt-load, compiled once per benchmark when a row needs it. */
function cLoadTool(root: string): CLoadTool {
  tool ??= prepareCLoad(root);
  return tool;
}

/** The generator that drives `sc`. */
export function generatorOf(sc: ClusterScenario): string {
  return sc.cLoad ? C_GENERATOR : NODE_GENERATOR;
}

/**
 * Runs `sc` with `o` (its placement and measure hooks already in) on its generator;
 * mqtt-load with `--spin-us cSpinUs`.
 * @throws Error when mqtt-load is needed and cannot be built, or its run failed.
 */
export async function runGenerator(
  root: string,
  sc: ClusterScenario,
  o: BenchOptions,
  cSpinUs: number,
): Promise<GeneratorRun> {
  if (!sc.cLoad) return { result: await runBench(o), generator: NODE_GENERATOR };
  const t = cLoadTool(root);
  if ('missing' in t) throw new Error(t.missing);
  const { run, result } = await runCFanin(t.binary, { ...sc.cLoad, spinUs: cSpinUs }, o);
  return { result, generator: C_GENERATOR, sendLagP99Ms: run.lag.p99 };
}

/** The summary's line on the generators of `scenarios`: which rows each drove, and how. */
export function generatorsLine(scenarios: readonly ClusterScenario[], cSpinUs: number): string {
  const ids = (c: boolean) =>
    scenarios
      .filter((sc) => Boolean(sc.cLoad) === c)
      .map((sc) => sc.id)
      .join(', ');
  const lines: string[] = [];
  const node = ids(false);
  const c = ids(true);
  if (node) {
    lines.push(
      `${NODE_GENERATOR}: ${node} (src/bench in the benchmark's process; the latency row at its default 'timer' pace: what is due every 1-3 ms, in small bursts)`,
    );
  }
  if (c) {
    lines.push(
      `${C_GENERATOR}: ${c} (bench/tools/mqtt-load fanin, its own process: one message per write at its due time, ${cSpinUs === 0 ? 'sleeping to each (--spin-us 0)' : `polling within ${cSpinUs} µs of each (--spin-us ${cSpinUs})`}; client CPU % is its own)`,
    );
  }
  return lines.join('\n');
}
