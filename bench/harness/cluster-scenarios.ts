/**
 * The scenarios of the cluster benchmark (bench/cluster.bench.ts), and where each role
 * connects. On two nodes the `cross-*` rows put the publishers on node A and the subscribers
 * on node B (every message crosses), `spread-pairs` puts each pair on one node, half on
 * each; on one node everything is on that node. Rows with a `cLoad` plan run on mqtt-load
 * (bench/harness/cluster-c-load.ts), the others on the Node generator (src/bench) in the
 * benchmark's own process.
 */
import type { BenchOptions } from '../../src/bench/index.js';
import type { FaninPlan } from './c-load-fanin.js';

/** One scenario: the engine's options, and where each role connects on two nodes. */
export interface ClusterScenario {
  id: string;
  title: string;
  options: Omit<BenchOptions, 'host' | 'port' | 'durationMs' | 'warmupMs'>;
  /** On two nodes: pubs on A, subs on B ('cross'), or each pair on one node ('spread'). */
  placement: 'cross' | 'spread';
  /** Run on mqtt-load's fanin mode (publishers and subscriber as `placement` puts them). */
  cLoad?: FaninPlan;
}

/** Every scenario, in the order they run. */
export const SCENARIOS: readonly ClusterScenario[] = [
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
  // The same latency question on mqtt-load (issue #11's goal: p99 at 10k msg/s at most 3x
  // one node's): fan-in 10→1, one message per write at its own due time, the generator in a
  // process of its own (C, epoll, pre-encoded packets) instead of this one.
  ...([1, 0] as const).map(
    (qos): ClusterScenario => ({
      id: `cross-latency-c-q${qos}`,
      title: `latency, fan-in 10→1 at 10k msg/s, QoS ${qos}, mqtt-load, publishers on A, subscriber on B`,
      options: { scenario: 'fanin', count: 10, qos, rate: 10_000 },
      placement: 'cross',
      cLoad: { publishers: 10, rate: 10_000, qos },
    }),
  ),
];

/** Where publishers and subscribers connect, by placement. */
export function placement(sc: ClusterScenario, ports: number[]): Partial<BenchOptions> {
  if (ports.length === 1) return { port: ports[0]! };
  const [a, b] = ports as [number, number];
  return sc.placement === 'cross'
    ? { port: a, publisherPorts: [a], subscriberPorts: [b] }
    : { port: a, publisherPorts: [a, b], subscriberPorts: [a, b] };
}
