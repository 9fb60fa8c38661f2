/**
 * Prometheus metrics of one broker: its own registry (several brokers in one process share
 * none), with the `pipit_*` metrics read from the engine at scrape time, the store's commit
 * histograms, and prom-client's default process metrics (CPU, memory, event-loop lag, GC).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { CommitObserver } from '../ports/index.js';
import { registerBridgeMetrics } from './bridge-metrics.js';
import { type MetricsSource, registerCoreMetrics } from './core-metrics.js';
import { registerStoreMetrics } from './store-metrics.js';

export type { BridgeFigures } from './bridge-metrics.js';
export type { MetricsSource } from './core-metrics.js';
export { metricsRoute } from './metrics-route.js';

/** A broker's registry and what feeds its store histograms. */
export interface BrokerMetrics {
  readonly registry: Registry;
  /** Give it to the store (`observeCommits`) so that its batches are timed. */
  readonly commitObserver: CommitObserver;
}

/** Which of prom-client's default metrics a broker serves (config `metrics`). */
export interface ProcessMetricsOptions {
  /**
   * prom-client's process metrics: CPU, memory, heap, event-loop lag, GC pauses, descriptors
   * limit, version. Default true: measured within noise of none at ~5 GCs a second (the
   * event-loop monitor and the GC observer), about 10 ms of CPU a second with a scrape a
   * second (bench/default-metrics-cost.ts).
   */
  process?: boolean;
  /**
   * The metrics that walk every libuv handle, request, resource and file descriptor at each
   * scrape (`nodejs_active_handles`, `..._requests`, `..._resources`, their `_total`s and
   * `process_open_fds`). Default false: synchronous and proportional to the connections, a
   * scrape blocked the event loop ~94 ms with 10,000 sockets open (~0.3 ms without them);
   * `pipit_connections_open` counts the sockets for free. Only with `process`.
   */
  handles?: boolean;
}

/** The default metrics that walk every handle or descriptor at each scrape. */
export const HANDLE_METRICS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'process_open_fds',
] as const;

/**
 * Builds a broker's registry. prom-client's default metrics start an event-loop delay
 * monitor and a GC observer that live as long as the process: build one per broker that
 * serves metrics, not per scrape.
 */
export function createBrokerMetrics(
  source: MetricsSource,
  options: ProcessMetricsOptions = {},
): BrokerMetrics {
  const registry = new Registry();
  if (options.process !== false) {
    collectDefaultMetrics({ register: registry });
    // Removed from the registry, they are never collected: a scrape walks no handle.
    if (options.handles !== true) {
      for (const name of HANDLE_METRICS) registry.removeSingleMetric(name);
    }
  }
  registerCoreMetrics(registry, source);
  if (source.bridges) registerBridgeMetrics(registry, source.bridges);
  const commitObserver = registerStoreMetrics(registry);
  return { registry, commitObserver };
}
