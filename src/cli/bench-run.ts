/**
 * What `pipit bench` does once its flags are parsed: run the scenario with a progress bar
 * on a terminal, print the result, and handle Ctrl-C (see bench-command.ts).
 */
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import {
  BenchInterruptedError,
  type BenchOptions,
  type BenchProgress,
  formatResult,
  runBench,
  SCENARIOS,
  type Scenario,
} from '../bench/index.js';
import { isSecure, TRANSPORTS, type Transport } from '../bench/transport.js';
import type { Pace } from '../bench/types.js';
import {
  type BenchFlags,
  EXIT_INTEGRITY,
  EXIT_INTERRUPTED,
  integrityFailed,
} from './bench-outcome.js';
import { parseIntFlag, parseQos, parseVersion } from './flag-values.js';

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
    ...transportOptions(f),
    batch: parseIntFlag('batch', f.batch, 1, 256),
    pace: parsePace(f.pace, f.rate),
  };
}

/** --pace: timer or spin, and spin only with --rate (it spaces a fixed rate). */
function parsePace(pace: string, rate: string | undefined): Pace {
  if (pace !== 'timer' && pace !== 'spin') {
    throw new Error(`--pace must be timer or spin, got "${pace}"`);
  }
  if (pace === 'spin' && rate === undefined) {
    throw new Error('--pace spin spaces a fixed rate: give --rate too');
  }
  return pace;
}

/** --transport, --ws-path, --cafile and --insecure as engine options. */
function transportOptions(f: BenchFlags): Pick<BenchOptions, TransportKeys> {
  if (!TRANSPORTS.includes(f.transport as Transport)) {
    throw new Error(`--transport must be one of ${TRANSPORTS.join(', ')}, got "${f.transport}"`);
  }
  const transport = f.transport as Transport;
  if ((f.cafile || f.insecure) && !isSecure(transport)) {
    throw new Error('--cafile and --insecure go with --transport tls or wss');
  }
  let ca: Buffer | undefined;
  if (f.cafile) {
    try {
      ca = readFileSync(f.cafile);
    } catch (err) {
      throw new Error(`--cafile: cannot read ${f.cafile}: ${(err as Error).message}`);
    }
  }
  return { transport, wsPath: f.wsPath, ca, rejectUnauthorized: !f.insecure };
}

type TransportKeys = 'transport' | 'wsPath' | 'ca' | 'rejectUnauthorized';

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
