/**
 * The warm-up of a conn scenario's broker (`npm run bench -- --warm N`): before the measured
 * burst, the same generator opens N connections against the fresh broker (TCP connect,
 * CONNECT, CONNACK), then closes them all, as the measured run closes its own. A Node broker
 * pays about twice the CPU per connection for its first few thousand connections (its code is
 * still being compiled and optimized), so a fresh broker's figures are a restarted broker's
 * reconnect storm and the warmed one's a long-running broker's; a broker without a JIT
 * (Mosquitto) gets the same warm-up, so the ratios stay like with like.
 */
import type { BenchOptions, BenchResult } from '../../src/bench/index.js';
import { readCpuMs } from './proc-stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How long the warm-up's closes are waited for at least. The generator closes first, so its
 * ports stay in TIME_WAIT towards the broker's port; Linux lets a new loopback connection
 * reuse such a port once the TIME_WAIT is over a second old (`net.ipv4.tcp_tw_reuse` = 2, the
 * default), which the measured burst needs when warm-up and burst together exceed the
 * ephemeral port range (28,232 ports by default).
 */
const MIN_SETTLE_MS = 1500;
/** The broker counts as settled once it used less than this CPU over a poll interval. */
const IDLE_CPU_MS = 5;
const POLL_MS = 250;
/** Past this the measurement goes on anyway (a broker busy with its own timers). */
const MAX_SETTLE_MS = 10_000;

/** What the warm-up did, for the sample. */
export interface WarmUp {
  /** Connections that got their CONNACK (all of them, or the warm-up throws). */
  connections: number;
  /** Their rate: the fresh broker's, for comparison with the measured burst's. */
  connectsPerSec: number;
  /** Broker CPU from the warm-up's start until it settled, per connection, µs. */
  brokerCpuUsPerConn: number;
}

/**
 * Runs `count` connections through `generate` (the scenario's own generator, with
 * `options` as the measured run has them but no hooks and no hold), then waits until the
 * broker `pid` has handled their closes. Throws when not every connection got its CONNACK:
 * a broker that refused some is not the broker the measured run should find.
 */
export async function warmUpBroker(
  generate: (o: BenchOptions) => Promise<BenchResult>,
  options: BenchOptions,
  count: number,
  pid: number,
): Promise<WarmUp> {
  const cpu0 = readCpuMs(pid);
  const result = await generate({ ...options, count, durationMs: 0 });
  const established = result.connections?.established ?? 0;
  if (established !== count) {
    const first = result.connections?.firstError;
    throw new Error(
      `warm-up: ${established} of ${count} connections made${first ? ` (first error: ${first})` : ''}`,
    );
  }
  const started = performance.now();
  let last = readCpuMs(pid);
  for (;;) {
    await sleep(POLL_MS);
    const now = readCpuMs(pid);
    const waited = performance.now() - started;
    const idle = now - last < IDLE_CPU_MS;
    last = now;
    if ((idle && waited >= MIN_SETTLE_MS) || waited >= MAX_SETTLE_MS) break;
  }
  return {
    connections: established,
    connectsPerSec: result.connections?.connectsPerSec ?? 0,
    brokerCpuUsPerConn: Math.round(((last - cpu0) * 1000) / count),
  };
}
