/**
 * The broker's HTTP surface, wired in the composition root: the routes its HTTP listeners
 * serve (`/metrics`, `/healthz`, `/readyz`, and any added with `addRoute`, e.g. the admin
 * API), its Prometheus registry, and the readiness checks behind `/readyz`.
 */
import type { BrokerCore } from './core/index.js';
import { livenessRoute, type ReadinessCheck, readinessRoute } from './http/health.js';
import type { HttpRoute } from './http/route.js';
import { CommitTotals, type StoreCommitTotals } from './metrics/commit-totals.js';
import type { BridgeFigures, BrokerMetrics, ProcessMetricsOptions } from './metrics/index.js';
import type { StorePort } from './ports/index.js';

/** Where the broker is in its life, as readiness sees it. */
export interface BrokerStatus {
  /** The store: not opened yet, opening (restoring its state), open, or failed to open. */
  store: 'not-started' | 'opening' | 'open' | 'failed';
  /** Why the store failed to open. */
  storeError: string | undefined;
  /** `listen()` calls for MQTT listeners not done yet. */
  listenersStarting: number;
  /** MQTT listeners accepting connections. */
  listenersUp: number;
  /** True once `close()` began. */
  closing: boolean;
}

/** The store's readiness: open, or what it is doing instead. */
function storeCheck(status: BrokerStatus, store: StorePort | undefined): ReadinessCheck {
  return {
    name: 'store',
    check: () => {
      switch (status.store) {
        case 'open':
          // A shared store (Redis) can lose its connection after opening.
          return store?.unavailable?.();
        case 'not-started':
          return 'the broker has not been started yet';
        case 'opening':
          return 'opening the store and restoring its state';
        case 'failed':
          return `the store failed to open: ${status.storeError}`;
      }
    },
  };
}

/** The listeners' readiness: every MQTT listener asked for is up, and there is one. */
function listenersCheck(status: BrokerStatus): ReadinessCheck {
  return {
    name: 'listeners',
    check: () => {
      if (status.listenersStarting > 0)
        return `${status.listenersStarting} MQTT listener(s) starting`;
      if (status.listenersUp === 0) return 'no MQTT listener is up';
      return undefined;
    },
  };
}

/**
 * A cluster node's readiness: its connection to the cluster's Redis. A node that cannot reach
 * Redis cannot tell who holds a client id (new clients get 0x88): a load balancer should send
 * them elsewhere.
 */
export function clusterRedisCheck(node: { status(): { redis: string } }): ReadinessCheck {
  return {
    name: 'redis',
    check: () => {
      const state = node.status().redis;
      return state === 'ready' ? undefined : `Redis connection ${state}`;
    },
  };
}

function shutdownCheck(status: BrokerStatus): ReadinessCheck {
  return {
    name: 'shutdown',
    check: () => (status.closing ? 'the broker is shutting down' : undefined),
  };
}

/** Routes, metrics and readiness of one broker. */
export class BrokerHttp {
  /** What the HTTP listeners serve, read at each request. */
  readonly routes: HttpRoute[] = [];
  /** What `/readyz` checks; a cluster adds its own (e.g. "Redis reachable"). */
  readonly checks: ReadinessCheck[];
  private metrics: Promise<BrokerMetrics> | undefined;
  /** The broker's bridges for `pipit_bridge_*`, when it has any (set before metrics build). */
  bridges: (() => readonly BridgeFigures[]) | undefined;
  /** The store's commits counted (undefined: a store that does not time its commits). */
  private readonly commits: CommitTotals | undefined;

  constructor(
    private readonly core: BrokerCore,
    store: StorePort | undefined,
    status: BrokerStatus,
    private readonly listenerNames: () => readonly string[],
    private readonly metricsOptions: ProcessMetricsOptions = {},
  ) {
    this.checks = [storeCheck(status, store), listenersCheck(status), shutdownCheck(status)];
    this.routes.push(livenessRoute(), readinessRoute(this.checks));
    if (store?.observeCommits) {
      this.commits = new CommitTotals();
      store.observeCommits(this.commits);
    }
  }

  /** Totals of the store's commits; undefined for a store that does not time them. */
  storeCommits(): StoreCommitTotals | undefined {
    return this.commits?.read();
  }

  /**
   * Builds the broker's metrics (once: by the first HTTP listener, or `metricsText()`), mounts
   * `/metrics` and has the store time its commits. prom-client is loaded only then, so a
   * broker that serves no metrics does not need it.
   */
  mountMetrics(): Promise<BrokerMetrics> {
    this.metrics ??= this.buildMetrics();
    return this.metrics;
  }

  /** The metrics in the Prometheus text format (what `/metrics` answers). */
  async metricsText(): Promise<string> {
    return (await this.mountMetrics()).registry.metrics();
  }

  private async buildMetrics(): Promise<BrokerMetrics> {
    let loaded: typeof import('./metrics/index.js');
    try {
      loaded = await import('./metrics/index.js');
    } catch (err) {
      throw new Error(
        `metrics need the prom-client package, which could not be loaded: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const metrics = loaded.createBrokerMetrics(
      { core: this.core, listenerNames: this.listenerNames, bridges: this.bridges },
      this.metricsOptions,
    );
    if (this.commits) this.commits.next = metrics.commitObserver;
    this.routes.push(loaded.metricsRoute(metrics.registry));
    return metrics;
  }

  /** Serves `route` on every HTTP listener (its prefix must not be taken). */
  addRoute(route: HttpRoute): void {
    if (this.routes.some((r) => r.prefix === route.prefix)) {
      throw new Error(`an HTTP route already serves ${route.prefix}`);
    }
    this.routes.push(route);
  }
}
