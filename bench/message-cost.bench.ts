/**
 * The cost of one message when there is nothing to batch (issue #17): fan-in 8→1 at a fixed
 * 10k msg/s, QoS 0 and 1, against fresh broker processes side by side, counting per
 * delivered message what the broker process spent while measuring: CPU (user and system
 * apart), read and write syscalls (/proc/<pid>/io syscr, syscw: every thread, no tracer
 * slowing the broker down), and the main thread's context switches (each one an event-loop
 * wake-up). Figures are printed, never asserted; rounds are interleaved so a busy moment on
 * the shared machine hits every broker alike.
 *
 *   node --import tsx bench/message-cost.bench.ts [--rounds 3] [--duration 5] [--warmup 1]
 *        [--brokers pipit,pipit-base,mosquitto] [--rate 10000] [--count 8]
 *
 * `pipit-base` is another build of Pipit (PIPIT_BASE_MAIN: its dist/cli/main.js; see bench/harness/brokers.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchResult, runBench } from '../src/bench/index.js';
import {
  type BrokerName,
  type BrokerProcess,
  ensurePipitBuilt,
  startBroker,
  which,
} from './harness/brokers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Counters of a process at one moment. */
interface ProcCounters {
  userTicks: number;
  systemTicks: number;
  readCalls: number;
  writeCalls: number;
  /** Voluntary + involuntary context switches of the main thread (the event loop's). */
  switches: number;
}

function readCounters(pid: number): ProcCounters {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const num = (text: string, name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    userTicks: Number(fields[11]),
    systemTicks: Number(fields[12]),
    readCalls: num(io, 'syscr'),
    writeCalls: num(io, 'syscw'),
    switches: num(status, 'voluntary_ctxt_switches') + num(status, 'nonvoluntary_ctxt_switches'),
  };
}

/** One broker, one QoS, one round. */
interface CostSample {
  broker: BrokerName;
  qos: 0 | 1;
  result: BenchResult;
  userUs: number;
  systemUs: number;
  reads: number;
  writes: number;
  wakeups: number;
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * Starts a broker, trying again when it fails to start: the free port the harness picked can
 * be taken by another process before the broker binds it, on a machine shared with others.
 */
async function startWithRetry(broker: BrokerName, pin: boolean): Promise<BrokerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBroker(broker, { cwd: root, core: pin ? 0 : undefined });
    } catch (err) {
      if (attempt >= 3) throw err;
      console.log(`${broker} did not start (${(err as Error).message.split('\n')[0]}): again`);
    }
  }
}

async function runOne(
  broker: BrokerName,
  qos: 0 | 1,
  o: { durationMs: number; warmupMs: number; rate: number; count: number; pin: boolean },
): Promise<CostSample> {
  const proc = await startWithRetry(broker, o.pin);
  try {
    let before: ProcCounters | undefined;
    let after: ProcCounters | undefined;
    const result = await runBench({
      scenario: 'fanin',
      count: o.count,
      qos,
      rate: o.rate,
      host: proc.host,
      port: proc.port,
      durationMs: o.durationMs,
      warmupMs: o.warmupMs,
      onMeasureStart: () => {
        before = readCounters(proc.pid);
      },
      onMeasureEnd: () => {
        after = readCounters(proc.pid);
      },
    });
    const per = (a: number, b: number, scale = 1): number =>
      ((b - a) * scale) / Math.max(1, result.delivered);
    const us = 1e6 / ticksPerSecond;
    return {
      broker,
      qos,
      result,
      userUs: per(before!.userTicks, after!.userTicks, us),
      systemUs: per(before!.systemTicks, after!.systemTicks, us),
      reads: per(before!.readCalls, after!.readCalls),
      writes: per(before!.writeCalls, after!.writeCalls),
      wakeups: per(before!.switches, after!.switches),
    };
  } finally {
    await proc.stop();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function table(samples: CostSample[], brokers: BrokerName[]): string {
  const out = [
    '| scenario | broker | delivered msg/s | p50 ms | p99 ms | CPU µs/msg (user + sys) | read syscalls/msg | write syscalls/msg | loop wake-ups/msg |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const qos of [0, 1] as const) {
    for (const broker of brokers) {
      const rows = samples.filter((s) => s.broker === broker && s.qos === qos);
      if (rows.length === 0) continue;
      const m = (f: (s: CostSample) => number, digits = 2): string =>
        median(rows.map(f)).toFixed(digits);
      const cpu = `${m((s) => s.userUs + s.systemUs, 1)} (${m((s) => s.userUs, 1)} + ${m((s) => s.systemUs, 1)})`;
      out.push(
        `| fan-in 8→1 QoS ${qos} | ${broker} | ${m((s) => s.result.deliveredPerSec, 0)} | ${m((s) => s.result.latency.p50, 3)} | ${m((s) => s.result.latency.p99, 3)} | ${cpu} | ${m((s) => s.reads)} | ${m((s) => s.writes)} | ${m((s) => s.wakeups)} |`,
      );
    }
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      brokers: { type: 'string', default: 'pipit,mosquitto' },
      rate: { type: 'string', default: '10000' },
      count: { type: 'string', default: '8' },
    },
  });
  const brokers = values.brokers.split(',').filter(Boolean) as BrokerName[];
  const taskset = which('taskset');
  const pin = taskset !== undefined && os.cpus().length >= 2;
  if (pin) execFileSync(taskset, ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  if (brokers.includes('pipit')) ensurePipitBuilt(root);
  const o = {
    durationMs: Number(values.duration) * 1000,
    warmupMs: Number(values.warmup) * 1000,
    rate: Number(values.rate),
    count: Number(values.count),
    pin,
  };
  console.log(
    `load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const samples: CostSample[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const qos of [0, 1] as const) {
      // Rotate the order every round: no broker always runs first.
      const k = round % brokers.length;
      for (const broker of [...brokers.slice(k), ...brokers.slice(0, k)]) {
        let s: CostSample;
        try {
          s = await runOne(broker, qos, o);
        } catch (err) {
          // One failed run (a broker that would not start, a connection that broke) leaves
          // a gap in the medians instead of ending the comparison.
          console.log(`round ${round + 1} QoS ${qos} ${broker}: FAILED: ${(err as Error).message}`);
          continue;
        }
        samples.push(s);
        console.log(
          `round ${round + 1} QoS ${qos} ${broker}: ${s.result.deliveredPerSec} msg/s, p99 ${s.result.latency.p99} ms, ` +
            `${(s.userUs + s.systemUs).toFixed(1)} µs/msg (${s.userUs.toFixed(1)} user), ` +
            `${s.reads.toFixed(2)} reads, ${s.writes.toFixed(2)} writes, ${s.wakeups.toFixed(2)} wake-ups per msg`,
        );
      }
    }
  }
  console.log(
    `load average at end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  console.log(table(samples, brokers));
}

await main();
