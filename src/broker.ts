/**
 * The composition root: a Broker wires the core to its transports (and, later, stores and
 * cluster) and exposes the embedding API with typed events.
 */
import { EventEmitter } from 'node:events';
import { AdminApi } from './admin/index.js';
import { type BridgeOptions, BridgeSet, type BridgeStatus } from './bridge/index.js';
import { BrokerHttp, type BrokerStatus } from './broker-http.js';
import { ClusterNode, type ClusterOptions } from './cluster/index.js';
import type {
  ClientInfo,
  CoreOptions,
  DisconnectInfo,
  DisconnectOptions,
  DropReason,
  Hook,
  HostPublish,
  Message,
} from './core/index.js';
import { BrokerCore, disconnectClients } from './core/index.js';
import { defaultMemoryBudget } from './default-budget.js';
import type { ReadinessCheck } from './http/health.js';
import { type HttpServeOptions, startHttpListener } from './http/http-listener.js';
import type { HttpRoute } from './http/route.js';
import { packageVersion, SysTopics } from './ops/index.js';
import type { BrokerStore, Clock, Durability, Logger } from './ports/index.js';
import type { SubscriptionRequest } from './protocol/index.js';
import { createStore, type RedisStoreOptions } from './storage/index.js';
import type { Listener, ListenerAddress } from './transport/listener.js';
import { startTcpListener } from './transport/tcp.js';
import { startTlsListener } from './transport/tls.js';
import type { TlsOptions } from './transport/tls-context.js';
import { startWsListener } from './transport/ws.js';

export type { HttpServeOptions } from './http/http-listener.js';
export type { TlsOptions } from './transport/tls-context.js';

/** Options of {@link createBroker}: core limits plus the logger and clock. */
export interface BrokerOptions extends Partial<CoreOptions> {
  /** A pino (or compatible) logger; silent by default when embedding. */
  logger?: Logger;
  /** Time source; the system clock by default. */
  clock?: Clock;
  /**
   * Where state survives a restart. `sqlite` (what `pipit broker` uses by default) keeps
   * sessions, queues, inflight messages, retained messages and wills in `<dataDir>/pipit.db`;
   * `memory` keeps nothing across restarts. Embedding without this option means memory.
   */
  persistence?: PersistenceOptions;
  /** A store of your own (implements the BrokerStore port); overrides `persistence`. */
  store?: BrokerStore;
  /** Bridges to other MQTT brokers, started with the broker (docs/bridges.md). */
  bridges?: readonly BridgeOptions[];
  /**
   * Runs this broker as a node of a cluster over Redis (docs/cluster.md): messages reach
   * subscribers on every node, a client id is held by one node at a time. Off by default.
   */
  cluster?: ClusterOptions;
  /**
   * Seconds between two updates of the `$SYS/broker/...` topics (docs/operations-sys-logs.md);
   * 0 publishes none. At most {@link MAX_SYS_INTERVAL}. Default 10.
   */
  sysInterval?: number;
}

/** Default of {@link BrokerOptions.sysInterval} (Mosquitto's `sys_interval`). */
export const DEFAULT_SYS_INTERVAL = 10;
/** Largest {@link BrokerOptions.sysInterval}: one day. */
export const MAX_SYS_INTERVAL = 86_400;

/** `sysInterval` checked: a number of seconds 0 to a day (0: no `$SYS` topics). */
function checkSysInterval(value: number | undefined): number {
  if (value === undefined) return DEFAULT_SYS_INTERVAL;
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_SYS_INTERVAL)) {
    throw new TypeError(
      `sysInterval: expected a number of seconds 0-${MAX_SYS_INTERVAL} (0 = no $SYS topics), got ${String(value)}`,
    );
  }
  return value;
}

/** Persistence settings (see README, "Durability"). */
export type PersistenceOptions =
  | { kind: 'memory' }
  | { kind: 'sqlite'; dataDir: string; durability?: Durability; batchIntervalMs?: number }
  | ({ kind: 'redis' } & Omit<RedisStoreOptions, 'logger'>);

/**
 * One listener. `port` 0 picks a free port; defaults: mqtt 1883, mqtts 8883, ws 8080,
 * wss 8081, http 8088, https 8443. `host` defaults to 127.0.0.1 (localhost only, a secure
 * default). `name` is the listener name hooks and logs see (default 'tcp', 'tls', 'ws',
 * 'wss', 'http' or 'https'). An http(s) listener serves `/metrics`, `/healthz`, `/readyz`
 * and the routes added with `addHttpRoute`, not MQTT.
 */
export type ListenerOptions = ListenerCommon &
  (
    | { type?: 'mqtt' }
    | { type: 'mqtts'; tls: TlsOptions }
    | ({ type: 'ws'; path?: string /* default '/mqtt' */ } & WebSocketOptions)
    | ({ type: 'wss'; path?: string; tls: TlsOptions } & WebSocketOptions)
    | ({ type: 'http' } & HttpServeOptions)
    | ({ type: 'https'; tls: TlsOptions } & HttpServeOptions)
  );

/** What WebSocket listeners take besides their path. */
export interface WebSocketOptions {
  /**
   * Browser origins allowed to connect (`https://host[:port]`, `null`, `*` for any), besides
   * pages served by the listener's own host and port (the Origin's host equals the Host
   * header) and clients that send no Origin (not browsers). Others get HTTP 403. Default none.
   */
  allowedOrigins?: readonly string[];
}

/** What every listener type takes. */
export interface ListenerCommon {
  port?: number;
  host?: string;
  name?: string;
  /**
   * Open sockets on this listener; a socket over it is closed at once, before anything is
   * read (as for the broker-wide `maxConnections`). Default: no cap of its own.
   */
  maxConnections?: number;
}

/** Default port of each listener type. */
const DEFAULT_PORTS = { mqtt: 1883, mqtts: 8883, ws: 8080, wss: 8081, http: 8088, https: 8443 };

/** Options of an HTTP(S) listener. */
type HttpListenerOptions = Extract<ListenerOptions, { type: 'http' | 'https' }>;

function isHttpListener(options: ListenerOptions): options is HttpListenerOptions {
  return options.type === 'http' || options.type === 'https';
}

/** The store `persistence` names (undefined for memory or none: the core keeps state itself). */
function storeFor(
  persistence: PersistenceOptions | undefined,
  logger: Logger | undefined,
): BrokerStore | undefined {
  if (persistence?.kind === 'sqlite') {
    return createStore({
      kind: 'sqlite',
      dataDir: persistence.dataDir,
      durability: persistence.durability,
      batchIntervalMs: persistence.batchIntervalMs,
      logger,
    });
  }
  if (persistence?.kind === 'redis') {
    const { kind, ...redis } = persistence;
    return createStore({ kind, redis, logger });
  }
  return undefined;
}

/** Starts the transport an MQTT listener option asks for. */
function startListener(
  core: BrokerCore,
  options: Exclude<ListenerOptions, HttpListenerOptions>,
): Promise<Listener> {
  const common = { host: options.host, name: options.name, maxConnections: options.maxConnections };
  switch (options.type) {
    case undefined:
    case 'mqtt':
      return startTcpListener(core, { ...common, port: options.port ?? DEFAULT_PORTS.mqtt });
    case 'mqtts':
      return startTlsListener(core, {
        ...common,
        port: options.port ?? DEFAULT_PORTS.mqtts,
        tls: options.tls,
      });
    case 'ws':
      return startWsListener(core, {
        ...common,
        port: options.port ?? DEFAULT_PORTS.ws,
        path: options.path,
        allowedOrigins: options.allowedOrigins,
      });
    case 'wss':
      return startWsListener(core, {
        ...common,
        port: options.port ?? DEFAULT_PORTS.wss,
        path: options.path,
        tls: options.tls,
        allowedOrigins: options.allowedOrigins,
      });
  }
}

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
    const { logger, clock, persistence, store, bridges, cluster, sysInterval, ...core } = options;
    this.sysInterval = checkSysInterval(sysInterval);
    this.store = store ?? storeFor(persistence, logger);
    this.persistenceKind = this.store?.kind ?? persistence?.kind ?? 'none';
    // The budget's default is sized to this process (the core cannot see it).
    this.budgetSource = core.memoryBudget === undefined ? defaultMemoryBudget() : undefined;
    if (this.budgetSource) core.memoryBudget = this.budgetSource.bytes;
    this.core = new BrokerCore({ options: core, logger, clock, store: this.store });
    this.bridgeSet = new BridgeSet(this.core, bridges ?? []);
    // Without a store shared by the nodes, a session does not move between them: the
    // cluster's ownership check is the only loader (C1's Redis store adds its loader here).
    this.cluster = cluster ? new ClusterNode(this.core, cluster, this.core.logger) : undefined;
    // Answers wait until the store's state is restored (and open it, as publish() does).
    this.admin = new AdminApi(this.core, () => this.start());
    this.http = new BrokerHttp(this.core, this.store, this.status, () =>
      this.running.map((l) => l.name),
    );
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
          `cannot join the cluster at ${this.cluster.options.url}: ${(err as Error).message}`,
        );
      }
    }
    this.status.store = 'opening';
    try {
      await this.core.start();
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
      { ...rest, port: port ?? DEFAULT_PORTS[type] },
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
