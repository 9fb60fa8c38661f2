/**
 * Prometheus metrics of one broker: its own registry (several brokers in one process share
 * none), with the `pipit_*` metrics read from the engine at scrape time, the store's commit
 * histograms, and prom-client's default process metrics (CPU, memory, event-loop lag, GC).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { CommitObserver } from '../ports/index.js';
import { type MetricsSource, registerCoreMetrics } from './core-metrics.js';
import { registerStoreMetrics } from './store-metrics.js';

export type { MetricsSource } from './core-metrics.js';
export { metricsRoute } from './metrics-route.js';

/** A broker's registry and what feeds its store histograms. */
export interface BrokerMetrics {
  readonly registry: Registry;
  /** Give it to the store (`observeCommits`) so that its batches are timed. */
  readonly commitObserver: CommitObserver;
}

/**
 * Builds a broker's registry. prom-client's default metrics start an event-loop delay
 * monitor and a GC observer that live as long as the process: build one per broker that
 * serves metrics, not per scrape.
 */
export function createBrokerMetrics(source: MetricsSource): BrokerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerCoreMetrics(registry, source);
  const commitObserver = registerStoreMetrics(registry);
  return { registry, commitObserver };
}
