/**
 * BrokerCore: the broker engine without sockets, a small facade over its parts. It builds
 * them (core-parts.ts), keeps the set of open connections, and hands the rest on: sessions
 * to the session registry (session-registry.ts), messages to the message pipeline
 * (message-pipeline.ts), subscriptions to the subscription service. Transports hand it
 * connections through {@link BrokerCore.openConnection}.
 */
import type { Clock, Logger } from '../ports/index.js';
import { ReasonCode } from '../protocol/index.js';
import type { BudgetAdmission } from './budget-admission.js';
import type { ClientInfo } from './client-info.js';
import type { ConnectDeadlines } from './connect-deadlines.js';
import { type CloseReason, Connection } from './connection.js';
import type { ConnectionInfo, ConnectionSink } from './connection-sink.js';
import type { CorePartsDeps } from './core-parts.js';
import { buildCoreParts } from './core-parts.js';
import type { ConnectionLifecycle, ConnectTimeoutTarget, CoreServices } from './core-services.js';
import type { DropCounter } from './drops.js';
import type { HookChain } from './hook-chain.js';
import type { Hook } from './hooks.js';
import type { KeepAliveDeadlines } from './keep-alive-deadlines.js';
import type { ConnectionAdmission, RefusalLog } from './limits.js';
import type { Message } from './message.js';
import type { MessageIds } from './message-ids.js';
import type { HostPublish, MessagePipeline } from './message-pipeline.js';
import type { CoreMetrics, DropReason } from './metrics.js';
import type { CoreOptions } from './options.js';
import type { Persistence } from './persistence.js';
import { restoreState } from './restore.js';
import type { RetainedMessages } from './retained.js';
import type { Router } from './router.js';
import type { Session } from './session.js';
import type { SessionRegistry } from './session-registry.js';
import type { SubscriptionService } from './subscription-service.js';
import { decideWill, type WillVerdict } from './will-verdict.js';
import type { WillScheduler } from './wills.js';

export type { HostPublish } from './message-pipeline.js';

/** What the core is built from (core-parts.ts). */
export type BrokerCoreDeps = CorePartsDeps;

/** The broker engine. */
export class BrokerCore implements CoreServices, ConnectionLifecycle<Connection> {
  readonly options: CoreOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: CoreMetrics;
  readonly hooks: HookChain;
  readonly router: Router;
  readonly retained: RetainedMessages;
  /** Counts and logs every limit refusal (throttled). */
  readonly refusals: RefusalLog;
  /** The global connection cap transports ask before serving a socket. */
  readonly admission: ConnectionAdmission;
  /** The memory budget (usage also in `metrics.memory`) and its session/subscription gate. */
  readonly budget: BudgetAdmission;
  /** The connect timeout of every new connection, behind one timer. */
  readonly connectDeadlines: ConnectDeadlines<ConnectTimeoutTarget>;
  /** The keep-alive checks of every connected client, behind one timer. */
  readonly keepAlives: KeepAliveDeadlines;
  readonly wills: WillScheduler;
  /**
   * Set by a cluster node: each connecting client's will gets this node's verdict
   * (will-verdict.ts), kept with the copies of the will another node may send. Off, as on
   * one node, no hook is asked anything at CONNECT.
   */
  recordWillVerdicts = false;
  /** The store, when the broker persists its state. */
  readonly persistence: Persistence | undefined;
  /** Sessions: claim, takeover, clean start, expiry, wills' fate. */
  readonly registry: SessionRegistry;
  /** Where every message enters: client, host, will (later bridges and other nodes). */
  readonly pipeline: MessagePipeline;
  /** Adds and removes the subscriptions of sessions. */
  readonly subscriptions: SubscriptionService;
  /** Ids of the messages this node creates. */
  readonly messageIds: MessageIds;
  private readonly drops: DropCounter;
  private readonly open = new Set<Connection>();
  private closing = false;

  constructor(deps: BrokerCoreDeps = {}) {
    const parts = buildCoreParts(deps);
    this.options = parts.options;
    this.clock = parts.clock;
    this.logger = parts.logger;
    this.metrics = parts.metrics;
    this.hooks = parts.hooks;
    this.router = parts.router;
    this.retained = parts.retained;
    this.refusals = parts.refusals;
    this.admission = parts.admission;
    this.budget = parts.budget;
    this.wills = parts.wills;
    this.persistence = parts.persistence;
    this.registry = parts.registry;
    this.pipeline = parts.pipeline;
    this.subscriptions = parts.subscriptions;
    this.messageIds = parts.messageIds;
    this.drops = parts.drops;
    this.connectDeadlines = parts.connectDeadlines;
    this.keepAlives = parts.keepAlives;
  }

  /** Sessions by client id (read-only; the registry owns them). */
  get sessions(): ReadonlyMap<string, Session> {
    return this.registry.sessions;
  }

  /** Open connections, from accepted to closed (read-only). */
  get connections(): ReadonlySet<Connection> {
    return this.open;
  }

  /** Installs a hook at the end of the chain. */
  addHook(hook: Hook): void {
    this.hooks.add(hook);
  }

  /** A transport accepted a connection: the returned Connection receives its bytes. */
  openConnection(sink: ConnectionSink, info: ConnectionInfo): Connection {
    const conn = new Connection(this, sink, info);
    this.open.add(conn);
    this.metrics.connectionsAccepted++;
    if (this.closing) conn.closeNow('server shutting down', ReasonCode.ServerShuttingDown);
    return conn;
  }

  /** A unique client identifier for a client that sent an empty one [MQTT-3.1.3-6]. */
  assignClientId(): string {
    return this.registry.assignClientId();
  }

  /** CONNACK 0x00 was sent and the session attached. */
  connected(conn: Connection): void {
    const metrics = this.metrics;
    metrics.connectionsEstablished++;
    if (++metrics.connectionsCurrent > metrics.connectionsMaximum) {
      metrics.connectionsMaximum = metrics.connectionsCurrent;
    }
    if (this.recordWillVerdicts && conn.will !== undefined) {
      conn.willVerdict = decideWill(this.hooks, conn.client, conn.will);
    }
    this.registry.connected(conn.client, conn.will, settled(conn.willVerdict));
    // One line per connection (never per message), what an operator looks for first; its
    // fields are not gathered when the line is not written (a level above info).
    if (this.logger.isLevelEnabled?.('info') !== false) this.logConnected(conn);
    this.hooks.notify('onConnected', conn.client);
  }

  private logConnected(conn: Connection): void {
    const client = conn.client;
    this.logger.info(
      {
        clientId: client.clientId,
        username: client.username,
        address: client.remoteAddress,
        listener: client.listener,
        protocolVersion: conn.version,
        keepAlive: conn.keepAlive,
        cleanStart: conn.handshake?.cleanStart,
        sessionExpiry: conn.session?.expiryInterval,
      },
      'client connected',
    );
  }

  /** A connection ended (any way). */
  connectionClosed(conn: Connection, wasConnected: boolean): void {
    this.open.delete(conn);
    if (!wasConnected) {
      this.metrics.connectionsRejected++;
      return;
    }
    this.metrics.connectionsCurrent--;
    this.registry.released(conn.session!, conn, conn.client, conn.will, settled(conn.willVerdict));
    const reason = conn.closeReason!;
    if (this.logger.isLevelEnabled?.('info') !== false) this.logDisconnected(conn, reason);
    this.hooks.notify('onDisconnected', conn.client, reason);
  }

  private logDisconnected(conn: Connection, reason: CloseReason): void {
    this.logger.info(
      {
        clientId: conn.client.clientId,
        username: conn.client.username,
        address: conn.client.remoteAddress,
        reason: reason.reason,
        reasonCode: reason.reasonCode,
        graceful: reason.graceful,
      },
      'client disconnected',
    );
  }

  /**
   * Opens the store and restores what it holds (sessions, queues, retained, wills). In a
   * cluster sharing the store, `heldElsewhere` names the client ids another node holds: their
   * sessions and wills stay in the store for that node and are not restored here.
   */
  async start(heldElsewhere?: (clientId: string) => boolean): Promise<void> {
    const persistence = this.persistence;
    if (!persistence) return;
    await persistence.store.open();
    const state = await persistence.store.load();
    await restoreState(this, persistence, state, this.registry.environment, heldElsewhere);
    await persistence.commit();
  }

  /** Registers a session restored from the store (restore.ts). */
  adoptSession(session: Session, expiresAt: number): void {
    this.registry.adopt(session, expiresAt);
  }

  /** Routes a message (retaining it first when asked). Returns the number of deliveries. */
  publish(message: Message, client?: ClientInfo): number {
    return this.pipeline.route(message, client);
  }

  /**
   * Routes a message of the broker's own (`$SYS`), retaining it first when asked, without the
   * `onPublished` notification (see MessagePipeline.fromBroker). Returns the deliveries.
   */
  publishOwn(message: Message): number {
    return this.pipeline.fromBroker(message);
  }

  /** Publishes from the host application (no authorization; onPublish transforms apply). */
  publishFromHost(request: HostPublish): Promise<number> {
    return this.pipeline.fromHost(request);
  }

  /** Counts (and notifies) a message not delivered to one client. */
  recordDrop(clientId: string, message: Message, reason: DropReason): void {
    this.drops.record(clientId, message, reason);
  }

  /** Stops: v5 clients get DISCONNECT 0x8B, every connection closes, timers are cleared. */
  close(): void {
    this.closing = true;
    this.registry.beginShutdown();
    for (const conn of [...this.open]) {
      // A clean shutdown is not the clients' failure: their wills are not sent later either.
      conn.discardWill();
      conn.closeNow('server shutting down', ReasonCode.ServerShuttingDown);
    }
    this.registry.stop();
    this.connectDeadlines.stop();
    this.keepAlives.stop();
    this.retained.stop();
  }
}

/** `verdict` once decided; undefined while a hook still decides (or when none was asked). */
function settled(verdict: WillVerdict | Promise<WillVerdict> | undefined): WillVerdict | undefined {
  return verdict instanceof Promise ? undefined : verdict;
}
