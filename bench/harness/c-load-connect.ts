/**
 * Runs mqtt-load's connect mode with the conn scenario's hooks (half-way pause, measure
 * start and end) and returns what `runBench` returns for the conn scenario, so the
 * comparison's tables and ratios read it unchanged.
 */
import type { LatencySummary } from '../../src/bench/histogram.js';
import type { BenchOptions, BenchResult } from '../../src/bench/index.js';
import { startCLoad } from './c-load-process.js';

/** The "connected" line mqtt-load prints once every connection has settled. */
export interface CConnected {
  requested: number;
  established: number;
  failed: number;
  refused: number;
  timeouts: number;
  dropped: number;
  inFlight: number;
  elapsedS: number;
  connectsPerSec: number;
  /** From the start of the TCP connect to the CONNACK (as the Node generator measures). */
  latency: LatencySummary;
  /** From the CONNECT's write to the CONNACK. */
  connackLatency: LatencySummary;
  cpu: { userMs: number; systemMs: number; percent: number };
  interrupted: boolean;
  firstError: string;
}

/** What one connect-mode run printed. */
export interface CConnectRun {
  connected: CConnected;
  /** Connections the broker closed after their CONNACK (while opening the rest or held). */
  dropped: number;
  result: BenchResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Milliseconds rounded to the microsecond, as the Node engine reports them. */
const ms3 = (v: number): number => Math.round(v * 1000) / 1000;

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

/** The conn scenario's BenchResult from mqtt-load's figures. */
export function connResultOf(o: BenchOptions, c: CConnected, dropped: number): BenchResult {
  const cpuMs = c.cpu.userMs + c.cpu.systemMs;
  return {
    scenario: 'conn',
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 1883,
    protocolVersion: o.protocolVersion ?? 4,
    qos: 0,
    payloadSize: 0,
    publishers: 0,
    subscribers: 0,
    rate: undefined,
    transport: 'tcp',
    batch: 1,
    writes: 0,
    packetsPerWrite: 0,
    minPacketsPerWrite: 0,
    seconds: ms3(c.elapsedS),
    sent: 0,
    delivered: 0,
    sentPerSec: 0,
    deliveredPerSec: 0,
    latency: latencyOf(c.latency),
    totalSent: 0,
    totalDelivered: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    // As the Node engine counts: failed attempts and connections the broker closed.
    errors: c.failed + dropped,
    cpu: { userMs: c.cpu.userMs, systemMs: c.cpu.systemMs, percent: c.cpu.percent },
    clientBound: cpuMs / Math.max(1, c.elapsedS * 1000) > 0.9,
    connections: {
      requested: c.requested,
      established: c.established,
      failed: c.failed,
      connectSeconds: ms3(c.elapsedS),
      connectsPerSec: Math.round(c.connectsPerSec),
      ...(c.firstError ? { firstError: c.firstError } : {}),
    },
    ...(c.interrupted ? { interrupted: 'setup' as const } : {}),
  };
}

/** The command line of a connect-mode run. */
export function connectArgs(o: BenchOptions, inFlight: number): string[] {
  return [
    'connect',
    ...['--host', o.host ?? '127.0.0.1', '--port', String(o.port ?? 1883)],
    ...['--count', String(o.count ?? 1000), '--in-flight', String(inFlight)],
    ...['--version', String(o.protocolVersion ?? 4), '--keepalive', '0'],
    ...(o.onHalfConnected ? ['--half-pause'] : []),
  ];
}

/**
 * Opens `o.count` connections with mqtt-load (`inFlight` CONNECTs at most awaiting their
 * CONNACK), calling `onHalfConnected` half-way (mqtt-load waits meanwhile, and leaves the
 * pause out of its rate and CPU), then `onMeasureStart`, holds them `o.durationMs`, calls
 * `onMeasureEnd` and closes them (by closing mqtt-load's stdin).
 */
export async function runCConnect(
  binary: string,
  inFlight: number,
  o: BenchOptions,
): Promise<CConnectRun> {
  const load = startCLoad(binary, connectArgs(o, inFlight), 'pipe', o);
  const { child } = load;
  let connected: CConnected | undefined;
  let dropped: number | undefined;
  try {
    for await (const line of load.lines) {
      const ev = JSON.parse(line) as { event: string } & Record<string, unknown>;
      if (ev.event === 'half') {
        await o.onHalfConnected?.(Number(ev.established));
        child.stdin!.write('\n');
      } else if (ev.event === 'connected') {
        connected = ev as unknown as CConnected;
        await o.onMeasureStart?.();
        await sleep(o.durationMs ?? 0);
        await o.onMeasureEnd?.();
        child.stdin!.end();
      } else if (ev.event === 'end') {
        dropped = Number(ev.dropped);
      }
    }
  } finally {
    // A hook that threw leaves mqtt-load waiting on stdin: end it.
    if (dropped === undefined && child.exitCode === null) child.kill('SIGTERM');
  }
  const code = await load.exited;
  if (!connected || dropped === undefined || code !== 0) {
    throw new Error(`mqtt-load connect failed (exit ${code}): ${load.stderr()}`);
  }
  return { connected, dropped, result: connResultOf(o, connected, dropped) };
}
