/**
 * `pipit bench <scenario>`: the load generator, pointed at any MQTT broker.
 *
 *   pipit bench fanin|fanout|pairs|conn [-h host] [-p port] [-q 0|1|2] [-s bytes]
 *       [-n count] [-d seconds] [-w seconds] [--window n] [--rate msg/s] [-V 311|5]
 *       [-u user] [-P password] [--json]
 *
 * A progress bar on a terminal, a table at the end, or one JSON object with --json.
 * Ctrl-C (or SIGTERM) stops the run: the bar is removed and the cursor shown again, and
 * what was measured so far is printed; a second Ctrl-C quits at once.
 * Exit codes: 0 done, 1 failure (could not connect, bad option), 3 the run completed but
 * messages were lost (QoS 1/2), reordered, or duplicated where that is not allowed,
 * 130 interrupted.
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import {
  BenchInterruptedError,
  type BenchProgress,
  type BenchResult,
  DEFAULT_COUNT,
  formatResult,
  runBench,
  SCENARIOS,
  type Scenario,
} from '../bench/index.js';
import { parseIntFlag, parseQos, parseVersion } from './flag-values.js';

interface BenchFlags {
  host: string;
  port: string;
  qos: string;
  size: string;
  count?: string;
  duration: string;
  warmup: string;
  window: string;
  rate?: string;
  protocolVersion: string;
  username?: string;
  password?: string;
  json?: boolean;
  progress: boolean;
}

/** Exit code for a completed run whose message checks failed. */
export const EXIT_INTEGRITY = 3;
/** Exit code after Ctrl-C (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** True when the counts show a broker fault for this QoS (QoS 1 may duplicate, QoS 0 may drop). */
export function integrityFailed(r: BenchResult): boolean {
  if (r.outOfOrder > 0) return true;
  if (r.qos > 0 && r.lost > 0) return true;
  return r.qos !== 1 && r.duplicated > 0;
}

function seconds(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds >= 0`);
  return Math.round(n * 1000);
}

/** A cli-progress bar fed by the engine's progress snapshots. */
function progressBar(): { onProgress: (p: BenchProgress) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      format:
        '{phase} [{bar}] {percentage}% | conns {connections} | sent {sent} | delivered {delivered}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let phase = '';
  let started = false;
  return {
    onProgress: (p) => {
      const payload = {
        phase: p.phase.padEnd(7),
        sent: p.sent,
        delivered: p.delivered,
        connections: p.connections,
      };
      const total = Math.max(1, p.plannedMs);
      if (!started) {
        bar.start(total, 0, payload);
        started = true;
      } else if (p.phase !== phase) bar.setTotal(total);
      phase = p.phase;
      bar.update(Math.min(p.elapsedMs, total), payload);
    },
    // Stopping shows the cursor again; a second stop does nothing.
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

/**
 * Ctrl-C handling for a run: the first signal aborts it (and takes the bar off the
 * terminal); a second one quits at once. Returns the signal and a function that removes the
 * handlers.
 */
function interruptible(bar: { stop: () => void } | undefined): {
  signal: AbortSignal;
  release: () => void;
} {
  const controller = new AbortController();
  const onSignal = (): void => {
    bar?.stop();
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    process.stderr.write('\nInterrupted: printing what was measured (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const release = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return { signal: controller.signal, release };
}

function benchOptions(scenario: string, f: BenchFlags): Parameters<typeof runBench>[0] {
  if (!SCENARIOS.includes(scenario as Scenario)) {
    throw new Error(`scenario must be one of ${SCENARIOS.join(', ')}`);
  }
  const version = parseVersion(f.protocolVersion);
  if (version === 3) throw new Error('bench speaks MQTT 3.1.1 or 5');
  return {
    scenario: scenario as Scenario,
    host: f.host,
    port: parseIntFlag('port', f.port, 1, 65535),
    qos: parseQos(f.qos),
    payloadSize: parseIntFlag('size', f.size, 1, 256 * 1024 * 1024),
    count: f.count === undefined ? undefined : parseIntFlag('count', f.count, 1, 1_000_000),
    durationMs: seconds('duration', f.duration),
    warmupMs: seconds('warmup', f.warmup),
    window: parseIntFlag('window', f.window, 1, 1_000_000),
    rate: f.rate === undefined ? undefined : Number(f.rate),
    protocolVersion: version,
    username: f.username,
    password: f.password,
  };
}

/** Runs `bench` with parsed flags; resolves with the exit code. */
export async function runBenchCommand(scenario: string, f: BenchFlags): Promise<number> {
  const showBar = f.progress && !f.json && process.stderr.isTTY === true;
  const bar = showBar ? progressBar() : undefined;
  const { signal, release } = interruptible(bar);
  try {
    const result = await runBench({
      ...benchOptions(scenario, f),
      signal,
      // After Ctrl-C the bar stays off the screen.
      onProgress: bar
        ? (p) => {
            if (!signal.aborted) bar.onProgress(p);
          }
        : undefined,
    });
    bar?.stop();
    process.stdout.write(f.json ? `${JSON.stringify(result)}\n` : `${formatResult(result)}\n`);
    if (result.interrupted) return EXIT_INTERRUPTED;
    return integrityFailed(result) ? EXIT_INTEGRITY : 0;
  } catch (err) {
    bar?.stop();
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return err instanceof BenchInterruptedError ? EXIT_INTERRUPTED : 1;
  } finally {
    release();
  }
}

/** Registers `pipit bench`. */
export function registerBenchCommand(program: Command): void {
  const counts = SCENARIOS.map((s) => `${s} ${DEFAULT_COUNT[s]}`).join(', ');
  program
    .command('bench')
    .description('load-test an MQTT broker: throughput, latency, message checks, connections')
    .argument('<scenario>', `fanin (P publishers -> 1 subscriber), fanout (1 -> S), pairs, conn`)
    .helpOption('--help', 'display help for command')
    .option('-h, --host <host>', 'broker host', '127.0.0.1')
    .option('-p, --port <port>', 'broker port', '1883')
    .option('-q, --qos <qos>', 'quality of service 0, 1 or 2', '0')
    .option('-s, --size <bytes>', 'payload size (at least 20)', '64')
    .option('-n, --count <n>', `scale: publishers, subscribers, pairs or connections (${counts})`)
    .option('-d, --duration <seconds>', 'measured time (conn: how long to hold)', '10')
    .option('-w, --warmup <seconds>', 'unmeasured time before measuring', '2')
    .option('--window <n>', 'per publisher: most messages sent but not yet delivered', '100')
    .option('--rate <msg/s>', 'fixed total publish rate (for latency) instead of flat out')
    .option('-V, --protocol-version <v>', 'MQTT version: 311 or 5', '311')
    .option('-u, --username <name>', 'user name')
    .option('-P, --password <password>', 'password')
    .option('--json', 'print the result as one JSON object')
    .option('--no-progress', 'no progress bar')
    .action(async (scenario: string, flags: BenchFlags) => {
      process.exitCode = await runBenchCommand(scenario, flags);
    });
}
