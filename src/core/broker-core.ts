/**
 * BrokerCore: the broker engine without sockets. It owns the sessions, the router, the
 * retained messages, wills and hooks; transports hand it connections through
 * {@link BrokerCore.openConnection}.
 */
import { randomBytes } from 'node:crypto';
import type { BrokerStore, Clock, Logger } from '../ports/index.js';
import { silentLogger, systemClock } from '../ports/index.js';
import type { DisconnectPacket, Properties, QoS, Will } from '../protocol/index.js';
import { MqttError, ReasonCode, validateTopicName } from '../protocol/index.js';
import { BudgetAdmission } from './budget-admission.js';
import { ConnectDeadlines } from './connect-deadlines.js';
import { Connection } from './connection.js';
import type { ConnectionInfo, ConnectionSink } from './connection-sink.js';
import { ExpiryIndex } from './expiry-index.js';
import { HookChain } from './hook-chain.js';
import type { ClientInfo, Hook } from './hooks.js';
import { ConnectionAdmission, RefusalLog } from './limits.js';
import { withLongTimers } from './long-timer.js';
import { MemoryBudget } from './memory-budget.js';
import type { Message } from './message.js';
import { createMessage } from './message.js';
import type { CoreMetrics, DropReason } from './metrics.js';
import { createCoreMetrics } from './metrics.js';
import type { CoreOptions } from './options.js';
import { resolveCoreOptions } from './options.js';
import { Persistence } from './persistence.js';
import { restoreState } from './restore.js';
import { RetainedMessages } from './retained.js';
import { sendRetained } from './retained-delivery.js';
import { Router } from './router.js';
import type { SessionEnvironment } from './session.js';
import { Session } from './session.js';
import { claimSession } from './session-owner.js';
import type { Subscription } from './subscription.js';
import { WillScheduler } from './wills.js';

/** What the core is built from. */
export interface BrokerCoreDeps {
  options?: Partial<CoreOptions>;
  clock?: Clock;
  logger?: Logger;
  /** Where persistent state goes; without one, everything lives in memory only. */
  store?: BrokerStore;
}

/** A message published by the host application. */
export interface HostPublish {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

/** The broker engine. */
export class BrokerCore {
  readonly options: CoreOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: CoreMetrics = createCoreMetrics();
  readonly hooks: HookChain;
  readonly router = new Router();
  readonly retained: RetainedMessages;
  readonly sessions = new Map<string, Session>();
  readonly connections = new Set<Connection>();
  /** Counts and logs every limit refusal (throttled). */
  readonly refusals: RefusalLog;
  /** The global connection cap transports ask before serving a socket. */
  readonly admission: ConnectionAdmission;
  /** The memory budget (usage also in `metrics.memory`) and its session/subscription gate. */
  readonly budget: BudgetAdmission;
  /** Offline sessions' expiry deadlines, behind one timer (no timer per session). */
  private readonly sessionExpiry: ExpiryIndex<Session>;
  /** The connect timeout of every new connection, behind one timer. */
  readonly connectDeadlines: ConnectDeadlines<Connection>;
  readonly wills: WillScheduler;
  /** The store, when the broker persists its state. */
  readonly persistence: Persistence | undefined;
  private readonly sessionEnv: SessionEnvironment;
  private clientIdCounter = 0;
  private readonly instanceTag = randomBytes(3).toString('hex');
  private closing = false;

  constructor(deps: BrokerCoreDeps = {}) {
    this.options = resolveCoreOptions(deps.options);
    // Session expiry and will delay may exceed a Node timer's range [MQTT-3.1.2-23].
    this.clock = withLongTimers(deps.clock ?? systemClock);
    this.logger = deps.logger ?? silentLogger;
    this.connectDeadlines = new ConnectDeadlines(this.clock, this.options.connectTimeoutMs, (c) =>
      c.connectTimedOut(),
    );
    this.sessionExpiry = new ExpiryIndex(
      this.clock,
      (session) => {
        if (!session.output) this.endSession(session);
      },
      0,
    );
    this.hooks = new HookChain(this.logger);
    this.persistence = deps.store
      ? new Persistence(deps.store, (err) => this.logger.error({ err }, 'store commit failed'))
      : undefined;
    this.refusals = new RefusalLog(this.metrics, this.logger, this.clock);
    this.admission = new ConnectionAdmission(this.options.maxConnections, this.refusals, {
      maxConnectionsPerAddress: this.options.maxConnectionsPerAddress,
      onLoopback: this.options.addressLimitsOnLoopback,
    });
    const budget = new MemoryBudget(
      this.options.memoryBudget,
      this.options.maxQueuedMessagesTotal,
      this.metrics.memory,
    );
    this.budget = new BudgetAdmission(budget, this.refusals);
    this.retained = new RetainedMessages(
      { maxMessages: this.options.maxRetainedMessages, maxBytes: this.options.maxRetainedBytes },
      budget,
      this.clock,
      this.persistence,
    );
    this.wills = new WillScheduler(
      this.clock,
      (will, client) => this.publishWill(will, client),
      this.persistence,
    );
    const options = this.options;
    this.sessionEnv = {
      now: () => this.clock.now(),
      maxQueuedMessages: options.maxQueuedMessages,
      maxQueuedBytes: options.maxQueuedBytes,
      queueQos0Offline: options.queueQos0Offline,
      budget,
      dropped: (session, delivery, reason) => {
        this.recordDrop(session.clientId, delivery.message, reason);
        if (reason === 'memory-budget') this.budget.refuseQueued(session.clientId);
        else if (reason === 'queued-total') this.budget.refuseQueuedTotal(session.clientId);
      },
      failed: (session, err) =>
        this.logger.error({ err, clientId: session.clientId }, 'reading a stored queue failed'),
    };
  }

  /** Installs a hook at the end of the chain. */
  addHook(hook: Hook): void {
    this.hooks.add(hook);
  }

  /** A transport accepted a connection: the returned Connection receives its bytes. */
  openConnection(sink: ConnectionSink, info: ConnectionInfo): Connection {
    const conn = new Connection(this, sink, info);
    this.connections.add(conn);
    this.metrics.connectionsAccepted++;
    if (this.closing) conn.closeNow('server shutting down', ReasonCode.ServerShuttingDown);
    return conn;
  }

  /** A unique client identifier for a client that sent an empty one [MQTT-3.1.3-6]. */
  assignClientId(): string {
    this.clientIdCounter++;
    return `${this.options.assignedClientIdPrefix}${this.instanceTag}-${this.clientIdCounter.toString(36)}`;
  }

  /**
   * Gives `conn` its session: takes over a connected one [MQTT-3.1.4-3], discards it on clean
   * start [MQTT-3.1.2-4], or resumes it [MQTT-3.1.2-5]. Returns whether a session was present.
   */
  openSession(
    conn: Connection,
    clean: boolean,
    expiry: number,
  ): { session: Session; present: boolean } {
    const clientId = conn.client.clientId;
    let session = this.sessions.get(clientId);
    // Before anything is taken over or discarded: another user's session stays theirs.
    const owner = claimSession(
      session,
      conn.client,
      this.options.bindClientIdToUser,
      this.refusals,
    );
    const previous = session?.output;
    if (previous instanceof Connection) {
      this.logger.info({ clientId }, 'session taken over by a new connection');
      previous.closeNow('session taken over', ReasonCode.SessionTakenOver); // [MQTT-3.1.4-3]
      session = this.sessions.get(clientId);
    }
    if (session && clean) {
      this.endSession(session);
      session = undefined;
    }
    let present = false;
    if (session) {
      this.cancelExpiry(session);
      this.wills.cancel(clientId); // [MQTT-3.1.3-9] resumed before the will delay passed.
      present = true; // [MQTT-3.2.2-3]
    } else {
      if (!this.budget.admitSession(clientId, expiry > 0)) {
        // CONNACK 0x97 Quota exceeded (v3: 0x03 Server unavailable).
        throw new MqttError(ReasonCode.QuotaExceeded, 'memory budget reached: no new session');
      }
      this.wills.fire(clientId); // a previous session ended: its delayed will goes now.
      session = new Session(clientId, this.sessionEnv);
      this.sessions.set(clientId, session);
    }
    session.expiryInterval = expiry;
    session.owner = owner;
    const persistence = this.persistence;
    if (persistence && (expiry > 0 || session.persistence)) {
      // A session that may outlive its connection is written, subscriptions and queue included.
      session.persistTo(persistence);
      persistence.putSession(clientId, expiry, undefined);
      persistence.setSessionOwner(clientId, owner);
    }
    conn.session = session;
    return { session, present };
  }

  /** CONNACK 0x00 was sent. */
  connected(conn: Connection): void {
    this.metrics.connectionsCurrent++;
    if (this.persistence && conn.will) {
      // Stored while connected: after a crash the connection counts as lost, so it is sent.
      this.persistence.putWill(conn.client.clientId, {
        will: conn.will,
        // The restored will is authorized as this user: only a verified username counts.
        username: conn.client.usernameVerified ? conn.client.username : undefined,
        listener: conn.client.listener,
      });
    }
    this.logger.debug(
      { clientId: conn.client.clientId, version: conn.version },
      'client connected',
    );
    this.hooks.notify('onConnected', conn.client);
  }

  /** DISCONNECT from the client. */
  clientDisconnect(conn: Connection, packet: DisconnectPacket): void {
    const expiry = packet.properties?.sessionExpiryInterval;
    if (conn.version === 5 && expiry !== undefined) {
      if (conn.connectSessionExpiry === 0 && expiry !== 0) {
        throw new MqttError(
          ReasonCode.ProtocolError,
          'session expiry raised from 0 at DISCONNECT',
          'MQTT-3.14.2-2',
        );
      }
      conn.session!.expiryInterval = Math.min(expiry, this.options.maxSessionExpiry);
    }
    const reasonCode = packet.reasonCode ?? 0;
    // [MQTT-3.14.4-3] a normal DISCONNECT discards the will; 0x04 asks for it to be sent.
    if (reasonCode !== ReasonCode.DisconnectWithWillMessage && conn.will) {
      conn.will = undefined;
      this.persistence?.deleteWill(conn.client.clientId);
    }
    conn.finish({ graceful: true, reasonCode, reason: 'client disconnected' });
  }

  /** A connection ended (any way). */
  connectionClosed(conn: Connection, wasConnected: boolean): void {
    this.connections.delete(conn);
    if (!wasConnected) {
      this.metrics.connectionsRejected++;
      return;
    }
    this.metrics.connectionsCurrent--;
    const session = conn.session!;
    if (session.output === conn) {
      session.detach();
      for (const delivery of session.takeSharedDeliveries()) {
        // Messages in flight to a shared member that left go to another member.
        if (!this.router.redispatchShared(delivery, session)) session.enqueue(delivery);
      }
      if (conn.will && !this.closing) this.wills.schedule(conn.client, conn.will);
      if (session.expiryInterval === 0) this.endSession(session);
      else {
        this.scheduleExpiry(session);
        if (session.persistence) {
          const expiresAt =
            session.expiryInterval >= 0xffffffff
              ? undefined
              : this.clock.now() + session.expiryInterval * 1000;
          session.persistence.putSession(session.clientId, session.expiryInterval, expiresAt);
        }
      }
    }
    const reason = conn.closeReason!;
    this.logger.debug(
      { clientId: conn.client.clientId, reason: reason.reason },
      'client disconnected',
    );
    this.hooks.notify('onDisconnected', conn.client, reason);
  }

  /** Opens the store and restores what it holds (sessions, queues, retained, wills). */
  async start(): Promise<void> {
    const persistence = this.persistence;
    if (!persistence) return;
    await persistence.store.open();
    const state = await persistence.store.load();
    await restoreState(this, persistence, state, this.sessionEnv);
    await persistence.commit();
  }

  /** Registers a session restored from the store (restore.ts). */
  adoptSession(session: Session, expiresAt: number): void {
    this.sessions.set(session.clientId, session);
    this.budget.chargeSession(session.clientId);
    for (const subscription of session.subscriptions.values()) {
      this.router.add(subscription);
      this.budget.chargeSubscription(subscription.filter);
    }
    if (session.expiryInterval < 0xffffffff) this.sessionExpiry.set(session, expiresAt);
  }

  /** Routes a message (retaining it first when asked). Returns the number of deliveries. */
  publish(message: Message, client?: ClientInfo): number {
    if (message.retain) {
      const stored = this.retained.set(message);
      if (stored !== true) this.refuseRetained(client?.clientId ?? '', message, stored);
    }
    const delivered = this.router.route(message);
    if (this.hooks.hasPublishedNotification) this.hooks.notify('onPublished', client, message);
    return delivered;
  }

  /** Publishes from the host application (no authorization; onPublish transforms apply). */
  async publishFromHost(request: HostPublish): Promise<number> {
    validateTopicName(request.topic);
    const responseTopic = request.properties?.responseTopic;
    if (responseTopic !== undefined && /[+#]/.test(responseTopic)) {
      // Subscribers would receive a Response Topic with wildcards [MQTT-3.3.2-14].
      throw new MqttError(
        ReasonCode.ProtocolError,
        'response topic contains a wildcard',
        'MQTT-3.3.2-14',
      );
    }
    const payload =
      typeof request.payload === 'string' ? Buffer.from(request.payload) : request.payload;
    const message = createMessage(
      {
        topic: request.topic,
        payload,
        qos: request.qos ?? 0,
        retain: request.retain ?? false,
        properties: request.properties,
      },
      this.clock.now(),
    );
    const transformed = this.hooks.hasPublishTransform
      ? await this.hooks.transformPublish(undefined, message)
      : message;
    if (transformed === null) return 0;
    return this.publish(transformed);
  }

  /**
   * Adds or replaces a subscription; true when it is new. A new one must have been admitted
   * by `budget.admitSubscription` (which charged it).
   */
  subscribe(session: Session, subscription: Subscription): boolean {
    const existed = session.subscriptions.has(subscription.filter);
    session.subscriptions.set(subscription.filter, subscription);
    this.router.add(subscription);
    session.persistence?.putSubscription(session.clientId, subscription);
    return !existed;
  }

  /** Removes a subscription; true when it existed. */
  unsubscribe(session: Session, filter: string): boolean {
    if (!session.subscriptions.delete(filter)) return false;
    this.router.remove(session, filter);
    this.budget.releaseSubscription(filter);
    session.persistence?.deleteSubscription(session.clientId, filter);
    return true;
  }

  /** Retained messages for a new subscription (retained-delivery.ts). */
  sendRetained(session: Session, subscription: Subscription, isNew: boolean): void {
    sendRetained(this, session, subscription, isNew);
  }

  private refuseRetained(
    clientId: string,
    message: Message,
    reason: 'retained-limit' | 'retained-bytes' | 'memory-budget',
  ): void {
    this.recordDrop(clientId, message, reason);
    if (reason === 'memory-budget') {
      this.budget.refuseRetained(message);
    } else if (reason === 'retained-bytes') {
      this.refusals.note(
        'retained-bytes',
        { clientId, topic: message.topic, maxRetainedBytes: this.options.maxRetainedBytes },
        'retained message refused: maxRetainedBytes reached',
      );
    }
  }

  /** Counts (and notifies) a message not delivered to one client. */
  recordDrop(clientId: string, message: Message, reason: DropReason): void {
    this.metrics.dropped[reason]++;
    if (this.hooks.hasDroppedNotification)
      this.hooks.notify('onDropped', clientId, message, reason);
  }

  /** Stops: v5 clients get DISCONNECT 0x8B, every connection closes, timers are cleared. */
  close(): void {
    this.closing = true;
    for (const conn of [...this.connections]) {
      // A clean shutdown is not the clients' failure: their wills are not sent later either.
      if (conn.will && conn.state === 'connected')
        this.persistence?.deleteWill(conn.client.clientId);
      conn.will = undefined;
      conn.closeNow('server shutting down', ReasonCode.ServerShuttingDown);
    }
    this.wills.clear();
    this.connectDeadlines.stop();
    this.sessionExpiry.stop();
    this.retained.stop();
  }

  private publishWill(will: Will, client: ClientInfo): void {
    // Will Delay Interval belongs to the will, not to the PUBLISH [MQTT-3.1.3-9]: forwarding
    // it would make the message unencodable.
    const { willDelayInterval: _delay, ...properties } = will.properties ?? {};
    const message = createMessage(
      {
        topic: will.topic,
        payload: will.payload,
        qos: will.qos,
        retain: will.retain,
        properties,
        origin: client.clientId,
        publisher: client,
      },
      this.clock.now(),
    );
    if (!this.hooks.hasAuthorizePublish && !this.hooks.hasPublishTransform) {
      this.publish(message, client);
      return;
    }
    void this.publishWillWithHooks(message, client);
  }

  private async publishWillWithHooks(message: Message, client: ClientInfo): Promise<void> {
    try {
      const allowed = await this.hooks.authorizePublish(client, message);
      if (!allowed) {
        this.logger.info(
          { clientId: client.clientId, topic: message.topic },
          'will not authorized',
        );
        return;
      }
      const transformed = await this.hooks.transformPublish(client, message);
      if (transformed) this.publish(transformed, client);
    } catch (err) {
      this.logger.error({ err, clientId: client.clientId }, 'will publish failed');
    }
  }

  private scheduleExpiry(session: Session): void {
    if (session.expiryInterval >= 0xffffffff) return; // never expires
    this.sessionExpiry.set(session, this.clock.now() + session.expiryInterval * 1000);
  }

  private cancelExpiry(session: Session): void {
    this.sessionExpiry.delete(session);
  }

  /**
   * The session ends: its subscriptions go, and a delayed will is sent now [MQTT-3.1.3-9].
   * Also the admin API's deleteSession (after it closed the session's connection).
   */
  endSession(session: Session): void {
    this.cancelExpiry(session);
    if (session.subscriptionCount > 0) {
      for (const filter of session.subscriptions.keys()) {
        this.router.remove(session, filter);
        this.budget.releaseSubscription(filter);
      }
      session.subscriptions.clear();
    }
    session.end();
    if (this.sessions.get(session.clientId) === session) {
      this.sessions.delete(session.clientId);
      this.budget.releaseSession(session.clientId);
    }
    if (session.persistence) {
      session.persistence.deleteSession(session.clientId);
      session.forget();
    }
    this.wills.fire(session.clientId);
  }
}
