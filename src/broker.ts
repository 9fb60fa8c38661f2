/**
 * The composition root: a Broker wires the core to its transports (and, later, stores and
 * cluster) and exposes the embedding API with typed events.
 */
import { EventEmitter } from 'node:events';
import { AdminApi } from './admin/index.js';
import { BridgeSet, type BridgeStatus } from './bridge/index.js';
import { type DrainResult, drainNode } from './broker-drain.js';
import { BrokerHttp, type BrokerStatus, clusterRedisCheck } from './broker-http.js';
import {
  DEFAULT_PORTS,
  type HttpListenerOptions,
  isHttpListener,
  startListener,
  storeFor,
} from './broker-listeners.js';
import {
  type BrokerOptions,
  checkSysInterval,
  clusterPersistence,
  type ListenerOptions,
  storeOnClusterRedis,
} from './broker-options.js';
import { ClusterNode } from './cluster/index.js';
import type {
  ClientInfo,
  DisconnectInfo,
  DisconnectOptions,
  DropReason,
  Hook,
  HostPublish,
  Message,
} from './core/index.js';
import { BrokerCore, disconnectClients, StoredSessionLoader } from './core/index.js';
import { defaultMemoryBudget } from './default-budget.js';
import { type ReadinessCheck, type ReadinessReport, readiness } from './http/health.js';
import { startHttpListener } from './http/http-listener.js';
import type { HttpRoute } from './http/route.js';
import type { StoreCommitTotals } from './metrics/commit-totals.js';
import { packageVersion, SysTopics } from './ops/index.js';
import type { BrokerStore } from './ports/index.js';
import type { SubscriptionRequest } from './protocol/index.js';
import { redactUrl } from './storage/redis/redis-url.js';
import type { Listener, ListenerAddress } from './transport/listener.js';

export {
  type BrokerOptions,
  DEFAULT_SYS_INTERVAL,
  type ListenerCommon,
  type ListenerOptions,
  MAX_SYS_INTERVAL,
  type PersistenceOptions,
  type WebSocketOptions,
} from './broker-options.js';
export type { HttpServeOptions } from './http/http-listener.js';
export type { TlsOptions } from './transport/tls-context.js';

/** Events a Broker emits. */
export interface BrokerEvents {
  clientConnected: [client: ClientInfo];
  clientDisconnected: [client: ClientInfo, reason: DisconnectInfo];
  subscribed: [client: ClientInfo, subscriptions: SubscriptionRequest[], granted: number[]];
  unsubscribed: [client: ClientInfo, filters: string[]];
  published: [client: ClientInfo | undefined, message: Message];
  delivered: [clientId: string, message: Message];
  dropped: [clientId: string, message: Message, reason: DropReason];
}

/** Maps each event to the notification hook that feeds it. */
const EVENT_HOOKS: { [K in keyof BrokerEvents]: keyof Hook } = {
  clientConnected: 'onConnected',
  clientDisconnected: 'onDisconnected',
  subscribed: 'onSubscribed',
  unsubscribed: 'onUnsubscribed',
  published: 'onPublished',
  delivered: 'onDelivered',
  dropped: 'onDropped',
};

/** An MQTT broker. Several brokers in one process share no state. */
export class Broker extends EventEmitter<BrokerEvents> {
  /** The engine (sessions, router, metrics). */
  readonly core: BrokerCore;
  /**
   * The read and command API for operators and tools: list clients, sessions, subscriptions
   * and retained messages, disconnect a client, delete a session, clear a retained message,
   * read the counters (docs/api.md).
   */
  readonly admin: AdminApi;
  private readonly running: Listener[] = [];
  /** HTTP listeners: closed last, so that `/readyz` answers 503 while the broker closes. */
  private readonly httpRunning: Listener[] = [];
  private readonly status: BrokerStatus = {
    store: 'not-started',
    storeError: undefined,
    listenersStarting: 0,
    listenersUp: 0,
    closing: false,
  };
  /** Routes, metrics and readiness checks of the HTTP listeners. */
  private readonly http: BrokerHttp;
  private readonly wiredEvents = new Set<string>();
  private readonly store: BrokerStore | undefined;
  /** This node's part in a cluster, when `cluster` is set. */
  readonly cluster: ClusterNode | undefined;
  private started: Promise<void> | undefined;
  private readonly persistenceKind: string;
  /** What the default memory budget was computed from (undefined when it was configured). */
  private readonly budgetSource: ReturnType<typeof defaultMemoryBudget> | undefined;
  private readonly bridgeSet: BridgeSet;
  /** Seconds between `$SYS` updates (0: none). */
  private readonly sysInterval: number;
  private sys: SysTopics | undefined;
  private closed = false;

  constructor(options: BrokerOptions = {}) {
    super();
    const { logger, clock, persistence, store, bridges, cluster, sysInterval, metrics, ...core } =
      options;
    this.sysInterval = checkSysInterval(sysInterval);
    this.store = store ?? storeFor(clusterPersistence(cluster, persistence), logger);
    this.persistenceKind = this.store?.kind ?? persistence?.kind ?? 'none';
    // The budget's default is sized to this process (the core cannot see it).
    this.budgetSource = core.memoryBudget === undefined ? defaultMemoryBudget() : undefined;
    if (this.budgetSource) core.memoryBudget = this.budgetSource.bytes;
    this.core = new BrokerCore({ options: core, logger, clock, store: this.store });
    this.bridgeSet = new BridgeSet(this.core, bridges ?? []);
    // With the store the nodes share, a client's session is read from it when the client
    // connects to this node after the ownership check (another node may have written it).
    const shared = this.core.persistence;
    this.cluster = cluster
      ? new ClusterNode(
          this.core,
          cluster,
          this.core.logger,
          shared ? new StoredSessionLoader(this.core, shared) : undefined,
          storeOnClusterRedis(this.store, cluster),
        )
      : undefined;
    this.cluster?.stats.describeAs({ version: packageVersion(), listeners: () => this.addresses });
    // Answers wait until the store's state is restored (and open it, as publish() does).
    this.admin = new AdminApi(this.core, () => this.start());
    this.http = new BrokerHttp(
      this.core,
      this.store,
      this.status,
      () => this.running.map((l) => l.name),
      metrics,
    );
    if ((bridges ?? []).length > 0) this.http.bridges = () => this.bridges();
    if (this.cluster) this.addReadinessCheck(clusterRedisCheck(this.cluster));
    // Notification hooks are installed only for events someone listens to, so the
    // publish and delivery paths stay free of them otherwise.
    (this as EventEmitter).on('newListener', (event: string | symbol) =>
      this.wireEvent(String(event)),
    );
  }

  /**
   * Opens the store and restores its state (once; `listen` and `publish` call it). Rejects
   * with an error naming the file and what to do when the store cannot be opened.
   */
  start(): Promise<void> {
    this.started ??= this.open();
    return this.started;
  }

  private async open(): Promise<void> {
    const options = this.core.options;
    this.core.logger.info(
      {
        memoryBudget: options.memoryBudget,
        ...(this.budgetSource
          ? { from: 'half the heap limit', heapLimit: this.budgetSource.heapLimit }
          : { from: 'configuration' }),
        maxRetainedBytes: options.maxRetainedBytes,
        maxQueuedMessagesTotal: options.maxQueuedMessagesTotal,
      },
      'memory budget',
    );
    if (this.persistenceKind === 'memory') {
      this.core.logger.info(
        {},
        'persistence off (memory): sessions, queues and retained messages are lost on exit',
      );
    }
    if (this.cluster) {
      try {
        // Before the store is read: the node id numbers the messages this node makes.
        await this.cluster.start();
      } catch (err) {
        await this.cluster.stop();
        throw new Error(
          `cannot join the cluster at ${redactUrl(this.cluster.options.url)}: ${(err as Error).message}`,
        );
      }
    }
    this.status.store = 'opening';
    try {
      // On a store the nodes share, the sessions live peers hold stay theirs.
      const heldElsewhere =
        this.cluster && this.store ? await this.cluster.heldByPeers() : undefined;
      await this.core.start(heldElsewhere);
      if (this.cluster && this.store) await this.cluster.claimRestored();
    } catch (err) {
      this.status.store = 'failed';
      this.status.storeError = (err as Error).message;
      throw err;
    }
    this.status.store = 'open';
    if (this.store) this.core.logger.info({ store: this.store.kind }, 'store opened');
    // After the restore: a bridge resumes its stored session, queue and inflight messages.
    await this.bridgeSet.start();
    if (this.sysInterval > 0 && !this.closed) {
      this.sys = new SysTopics(this.core, {
        intervalSeconds: this.sysInterval,
        version: packageVersion(),
      });
      this.sys.start();
    }
  }

  /** State and counters of each bridge (docs/bridges.md), read when called. */
  bridges(): BridgeStatus[] {
    return this.bridgeSet.statuses();
  }

  /**
   * Starts a listener (TCP by default); resolves with its address. An MQTT listener opens the
   * store first; an HTTP one starts at once, so that `/healthz` answers (and `/readyz` says
   * what is not ready) while the store restores.
   */
  async listen(options: ListenerOptions = {}): Promise<ListenerAddress> {
    if (isHttpListener(options)) return this.listenHttp(options);
    this.status.listenersStarting++;
    let listener: Listener;
    try {
      await this.start();
      listener = await startListener(this.core, options);
    } finally {
      this.status.listenersStarting--;
    }
    this.running.push(listener);
    this.status.listenersUp = this.running.length;
    this.core.logger.info({ address: listener.address.url, listener: listener.name }, 'listening');
    return listener.address;
  }

  private async listenHttp(options: HttpListenerOptions): Promise<ListenerAddress> {
    await this.http.mountMetrics();
    const { type, port, ...rest } = options;
    const listener = await startHttpListener(
      { ...rest, port: port ?? DEFAULT_PORTS[type], refusals: this.core.refusals },
      this.http.routes,
      this.core.logger,
    );
    this.httpRunning.push(listener);
    this.core.logger.info({ address: listener.address.url, listener: listener.name }, 'listening');
    return listener.address;
  }

  /**
   * Serves `route` on the HTTP listeners (e.g. the admin API under `/api/v1`), besides
   * `/metrics`, `/healthz` and `/readyz`. Throws when its prefix is served already.
   */
  addHttpRoute(route: HttpRoute): this {
    this.http.addRoute(route);
    return this;
  }

  /** Adds a condition to `/readyz` (e.g. a cluster's "Redis reachable"). */
  addReadinessCheck(check: ReadinessCheck): this {
    this.http.checks.push(check);
    return this;
  }

  /**
   * What `/readyz` answers, without an HTTP listener: each check (store open and reachable,
   * listeners up, not shutting down; in a cluster, Redis reachable) and whether all pass.
   */
  readiness(): Promise<ReadinessReport> {
    return readiness(this.http.checks);
  }

  /**
   * Totals of the store's group commits (count, seconds), read when called; undefined when
   * the store does not time its commits (memory, none). The dashboard's latency chart.
   */
  storeCommits(): StoreCommitTotals | undefined {
    return this.http.storeCommits();
  }

  /**
   * This broker's metrics in the Prometheus text format, as `/metrics` serves them (without
   * an HTTP listener, e.g. to push them elsewhere). Its registry is this broker's own.
   */
  metricsText(): Promise<string> {
    return this.http.metricsText();
  }

  /**
   * Re-reads every TLS listener's certificate, key and CA from disk (e.g. on SIGHUP). Open
   * connections stay up; new handshakes use the new files. A listener whose files fail to
   * load keeps its old ones, and the first such error is thrown after all were tried.
   */
  async reloadTls(): Promise<void> {
    const listeners = [...this.running, ...this.httpRunning];
    const results = await Promise.allSettled(listeners.map((l) => l.reloadTls?.()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Addresses of the running listeners (MQTT ones, then HTTP ones). */
  get addresses(): ListenerAddress[] {
    return [...this.running, ...this.httpRunning].map((l) => l.address);
  }

  /** Adds a hook (authentication, authorization, transforms, notifications). */
  addHook(hook: Hook): this {
    this.core.addHook(hook);
    return this;
  }

  /** Publishes a message from the host application. Resolves with the number of deliveries. */
  async publish(message: HostPublish): Promise<number> {
    await this.start();
    return this.core.publishFromHost(message);
  }

  /**
   * Disconnects the clients `match` selects (MQTT 5: DISCONNECT 0x98 Administrative action
   * unless `options.reasonCode` says otherwise; 3.x: closed), without their wills unless
   * `options.sendWill`. Their sessions stay. Returns how many were disconnected.
   */
  disconnect(match: (client: ClientInfo) => boolean, options: DisconnectOptions = {}): number {
    return disconnectClients(this.core, match, options);
  }

  /**
   * Drains this cluster node (docs/cluster.md): stops accepting connections, sends MQTT 5
   * clients DISCONNECT 0x9C Use another server with a Server Reference to a live peer that
   * advertises one (`cluster.advertise`; 3.x clients are closed), without their wills, lets
   * their sessions go (kept in the store for the node each client connects to next), then
   * closes the broker.
   * @throws Error when this broker is not a cluster node.
   */
  async drain(): Promise<DrainResult> {
    const node = this.cluster;
    if (!node) throw new Error('drain: this broker is not a cluster node (no cluster option)');
    await this.start();
    this.status.closing = true;
    const result = await drainNode(this.core, node, async () => {
      await Promise.all(this.running.splice(0).map((l) => l.close()));
      this.status.listenersUp = 0;
    });
    await this.close();
    return result;
  }

  /**
   * Disconnects every client (MQTT 5: DISCONNECT 0x8B) and stops the listeners; the HTTP
   * ones last, after the store closed (`/readyz` answers 503 meanwhile).
   */
  async close(): Promise<void> {
    this.status.closing = true;
    this.closed = true;
    this.sys?.stop();
    await this.bridgeSet.stop();
    this.core.close();
    await Promise.all(this.running.splice(0).map((l) => l.close()));
    this.status.listenersUp = 0;
    const opened = this.started
      ? await this.started.then(
          () => true,
          () => false,
        )
      : false;
    if (this.cluster && opened) await this.cluster.stop();
    if (this.store && opened) await this.store.close();
    await Promise.all(this.httpRunning.splice(0).map((l) => l.close()));
  }

  private wireEvent(event: string): void {
    if (!(event in EVENT_HOOKS) || this.wiredEvents.has(event)) return;
    this.wiredEvents.add(event);
    const name = event as keyof BrokerEvents;
    const hookName = EVENT_HOOKS[name];
    const hook: Hook = {
      name: `event:${event}`,
      [hookName]: (...args: unknown[]) =>
        (this.emit as (e: string, ...a: unknown[]) => boolean)(name, ...args),
    };
    this.core.addHook(hook);
  }
}

/** Creates a broker; call `listen()` to accept connections. */
export function createBroker(options: BrokerOptions = {}): Broker {
  return new Broker(options);
}
