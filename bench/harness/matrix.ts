/**
 * The scenarios of the broker comparison: the same list for every broker.
 */
import type { BenchOptions } from '../../src/bench/index.js';
import type { CLoadPlan } from './c-load.js';

/** One comparison scenario. */
export interface ComparisonScenario {
  id: string;
  title: string;
  /** The engine options (host, port, duration and hooks are added by the harness). */
  options: Omit<BenchOptions, 'host' | 'port' | 'durationMs' | 'warmupMs'>;
  /** Which figure leads the summary: throughput, latency at a fixed rate, or connections. */
  kind: 'throughput' | 'latency' | 'conn';
  /**
   * How the C load generator (mqtt-load) runs the scenario; when it is set and the tool
   * could be built, it runs instead of the Node engine (`options` is then the fallback).
   */
  cLoad?: CLoadPlan;
  /**
   * conn: connections the harness opens and closes against the fresh broker before the
   * measured burst (`npm run bench -- --warm N`, warm-up.ts): the warm broker's figures.
   */
  warmConnections?: number;
}

/**
 * Fan-in, fan-out, pairs at each QoS, 4 KiB payloads, latency at 10k msg/s (10 pairs, fan-in
 * 8→1, paced by the Node generator and by mqtt-load), 10k and 19k connections (mqtt-load),
 * fan-in 8→1 with 4 KiB and 64 KiB payloads.
 */
export const MATRIX: readonly ComparisonScenario[] = [
  ...([0, 1, 2] as const).map(
    (qos): ComparisonScenario => ({
      id: `fanin-q${qos}`,
      title: `fan-in 10→1, QoS ${qos}`,
      options: { scenario: 'fanin', count: 10, qos },
      kind: 'throughput',
    }),
  ),
  ...([0, 1] as const).map(
    (qos): ComparisonScenario => ({
      id: `fanout-q${qos}`,
      title: `fan-out 1→100, QoS ${qos}`,
      // Window 10: at most 1,000 deliveries in flight, like the other scenarios.
      options: { scenario: 'fanout', count: 100, qos, window: 10 },
      kind: 'throughput',
    }),
  ),
  ...([0, 1, 2] as const).map(
    (qos): ComparisonScenario => ({
      id: `pairs-q${qos}`,
      title: `100 pairs, QoS ${qos}`,
      // Window 10 per pair: 1,000 messages in flight in all, as fan-in's 10 x 100.
      options: { scenario: 'pairs', count: 100, qos, window: 10 },
      kind: 'throughput',
    }),
  ),
  {
    id: 'pairs-4k',
    title: '100 pairs, QoS 0, 4 KiB payload',
    options: { scenario: 'pairs', count: 100, qos: 0, payloadSize: 4096, window: 10 },
    kind: 'throughput',
  },
  {
    id: 'latency-10k',
    title: 'latency, 10 pairs at 10k msg/s total, QoS 1',
    options: { scenario: 'pairs', count: 10, qos: 1, rate: 10_000 },
    kind: 'latency',
  },
  // Issue #17: the cost of one message when there is nothing to batch (fan-in 8->1 at 10k msg/s).
  ...([0, 1] as const).map(
    (qos): ComparisonScenario => ({
      id: `latency-fanin-q${qos}`,
      title: `latency, fan-in 8→1 at 10k msg/s total, QoS ${qos}`,
      options: { scenario: 'fanin', count: 8, qos, rate: 10_000 },
      kind: 'latency',
    }),
  ),
  // The same with each message sent alone at its own time (spin pace: the generator checks
  // the clock every event-loop turn and staggers the publishers), as an evenly spaced C load
  // generator sends; the 1 ms timer above sends small bursts. The generator takes its core.
  ...([0, 1] as const).map(
    (qos): ComparisonScenario => ({
      id: `latency-fanin-even-q${qos}`,
      title: `latency, fan-in 8→1 at 10k msg/s total, evenly spaced, QoS ${qos}`,
      options: { scenario: 'fanin', count: 8, qos, rate: 10_000, pace: 'spin' },
      kind: 'latency',
    }),
  ),
  // The same again from mqtt-load, the C generator: each message alone at its own time
  // (publisher i offset by i/8 of its period), paced by polling its core near each due time
  // as the Node spin pace does; its send lag says whether it kept up. Without gcc the Node
  // spin pace runs.
  ...([0, 1] as const).map(
    (qos): ComparisonScenario => ({
      id: `latency-fanin-c-q${qos}`,
      title: `latency, fan-in 8→1 at 10k msg/s total, evenly spaced by mqtt-load (C), QoS ${qos}`,
      options: { scenario: 'fanin', count: 8, qos, rate: 10_000, pace: 'spin' },
      kind: 'latency',
      cLoad: { mode: 'fanin', publishers: 8, rate: 10_000, qos },
    }),
  ),
  {
    id: 'conn-10k',
    title: '10k idle connections',
    // 400 connects in flight: more than enough to keep a broker busy, below Node's listen
    // backlog (511), past which SYNs are dropped and retried a second later.
    options: { scenario: 'conn', count: 10_000, connectConcurrency: 400 },
    kind: 'conn',
    // Issue #17's figure: 50 CONNECTs in flight, from a generator that is not the limit (the
    // Node one took 86-100% of its core here). 50 is below every listen backlog (Mosquitto
    // 100), so no SYN is dropped and retried a second later.
    cLoad: { mode: 'connect', inFlight: 50 },
  },
  {
    id: 'conn-19k',
    title: '19k idle connections',
    // Near the 20000 open files each process (broker, load generator) may have here.
    options: { scenario: 'conn', count: 19_000, connectConcurrency: 400 },
    kind: 'conn',
    cLoad: { mode: 'connect', inFlight: 50 },
  },
  // Issue #17: a QoS 0 subscriber that keeps reading loses nothing with large payloads.
  // Fan-in 8→1 as the issue measured it; window 100 per publisher as in fan-in above.
  ...([4, 64] as const).map(
    (kib): ComparisonScenario => ({
      id: `fanin-${kib}k`,
      title: `fan-in 8→1, QoS 0, ${kib} KiB payload`,
      options: { scenario: 'fanin', count: 8, qos: 0, payloadSize: kib * 1024 },
      kind: 'throughput',
    }),
  ),
];

/**
 * `scenarios` with a warm twin after each conn scenario (`--warm N`): the same load, `-warm`
 * after its id, run against a broker that first served `warm` connections, so the fresh
 * broker's row (a restarted broker's reconnect storm) and the warm one's (a long-running
 * broker's) sit side by side. Unchanged when `warm` is 0.
 */
export function withWarmTwins(
  scenarios: readonly ComparisonScenario[],
  warm: number,
): ComparisonScenario[] {
  if (warm <= 0) return [...scenarios];
  return scenarios.flatMap((sc) =>
    sc.kind === 'conn'
      ? [
          sc,
          {
            ...sc,
            id: `${sc.id}-warm`,
            title: `${sc.title}, after ${warm.toLocaleString('en-US')} warm-up connections`,
            warmConnections: warm,
          },
        ]
      : [sc],
  );
}
