/**
 * One bridge: a local persistent session (`$bridge/<name>`, bridge-session.ts) whose output,
 * while the remote is reachable, is a connection to it (bridge-output.ts), and a subscription
 * on the remote whose messages are published here (bridge-inbound.ts). The connection is a
 * ReconnectingClient: jittered exponential backoff, failover along the addresses and back to
 * the first. While the remote is down the session queues (bounded, counted, stored) as for
 * an offline client; its state is published on `$SYS/broker/connection/<name>/state`.
 * Client towards the remote and server towards local clients, the bridge keeps the rules of
 * both [MQTT-7.0.0-1]: it goes through Pipit's client and the core's session machinery.
 */
import { hostname } from 'node:os';
import type { MqttClient, ReconnectingClientOptions } from '../client/index.js';
import { ConnectRefusedError, RECONNECT_JITTER, ReconnectingClient } from '../client/index.js';
import { type BrokerCore, type ClientInfo, type Session, sendRetained } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { ConnackPacket, PublishPacket, SubscriptionRequest } from '../protocol/index.js';
import type { BridgeCounters } from './bridge-counters.js';
import { newCounters } from './bridge-counters.js';
import { type InboundParts, publishInbound } from './bridge-inbound.js';
import type { BridgeOptions } from './bridge-options.js';
import { BRIDGE_LISTENER, bridgeSessionId } from './bridge-options.js';
import { BridgeOutput } from './bridge-output.js';
import { claimBridgeSession, syncSubscriptions } from './bridge-session.js';
import { publishState, remoteStateTopic, stateWill } from './bridge-state.js';
import { IncomingRate } from './incoming-rate.js';
import { TopicRules } from './topic-rules.js';

/** What `broker.bridges()` reports of one bridge. */
export interface BridgeStatus extends BridgeCounters {
  name: string;
  /** True while connected to the remote. */
  connected: boolean;
  /** `host:port` of the current connection, or of the next attempt. */
  address: string;
  /** Messages waiting for the remote: queued, and sent but not acknowledged. */
  queued: number;
  inflight: number;
}

/** One bridge to a remote broker. */
export class Bridge {
  readonly name: string;
  readonly counters: BridgeCounters = newCounters();
  private readonly rules: TopicRules;
  private readonly local: ClientInfo;
  private readonly logger: Logger;
  private readonly inbound: InboundParts;
  private readonly clientId: string;
  /** `maxIncomingRate`, when set. */
  private readonly rate: IncomingRate | undefined;
  /** The state's topic on the remote, when it is published there. */
  private readonly remoteState: string | undefined;
  private session: Session | undefined;
  private output: BridgeOutput | undefined;
  private remote: ReconnectingClient | undefined;
  private stopped = false;
  /** Failed attempts since the last connection (the first few of an outage are warnings). */
  private failuresInARow = 0;
  /** The last acknowledgement of an incoming message still waiting (they go out in order). */
  private acks: Promise<void> | undefined;

  constructor(
    private readonly core: BrokerCore,
    private readonly options: BridgeOptions,
  ) {
    this.name = options.name;
    this.rules = new TopicRules(options.topics);
    this.logger = core.logger.child({ bridge: options.name });
    this.clientId = options.clientId ?? `${hostname()}.${options.name}`;
    this.remoteState = remoteStateTopic(options, this.clientId);
    const perSecond = options.maxIncomingRate ?? 0;
    this.rate = perSecond > 0 ? new IncomingRate(perSecond, () => core.clock.now()) : undefined;
    this.local = {
      clientId: bridgeSessionId(options.name),
      username: options.localUsername,
      // The configuration is trusted: its username counts as verified for the ACL.
      usernameVerified: options.localUsername !== undefined,
      protocolVersion: options.protocolVersion ?? 4,
      remoteAddress: undefined,
      listener: BRIDGE_LISTENER,
      certificateIdentity: undefined,
    };
    this.inbound = {
      core,
      client: this.local,
      rules: this.rules,
      counters: this.counters,
      logger: this.logger,
    };
  }

  /** Claims the local session, then connects (and keeps reconnecting) to the remote. */
  async start(): Promise<void> {
    const session = await claimBridgeSession(this.core, this.local, {
      takeOver: () => this.takenOver(),
    });
    this.session = session;
    for (const filter of syncSubscriptions(this.core, session, this.rules)) {
      this.logger.error({ filter }, 'bridge: out rule not subscribed: memoryBudget reached');
    }
    this.state(false);
    const remote = new ReconnectingClient(this.clientOptions());
    this.remote = remote;
    remote.on('connect', (connack, client) => {
      this.up(connack, client).catch((err: unknown) => {
        this.logger.error({ err }, 'bridge: starting to forward failed; reconnecting');
        client.destroy(err as Error);
      });
    });
    remote.on('message', (topic, _payload, packet, client) => this.incoming(topic, packet, client));
    remote.on('offline', (error) => this.down(error));
    remote.on('reconnectFailed', (error) => this.attemptFailed(error));
    remote.run();
    this.logger.info(
      { addresses: this.options.addresses.map((a) => `${a.host}:${a.port}`) },
      'bridge started',
    );
  }

  /** Ends the remote connection (DISCONNECT); the session and its queue stay. */
  async stop(): Promise<void> {
    if (this.stopped || this.remote === undefined) return;
    this.stopped = true;
    const remote = this.remote;
    this.rate?.stop();
    this.detach();
    // A clean stop sends no will: say 0 on the remote ourselves (QoS 0: no packet id that
    // could be one the session still has in flight there).
    const current = remote.current;
    if (current && this.remoteState !== undefined) {
      await current
        .publish(this.remoteState, '0', { qos: 0, retain: true })
        .catch((err: unknown) => this.logger.warn({ err }, 'bridge: remote state 0 not sent'));
    }
    await remote.end();
    this.state(false);
  }

  /** Counters and state, read on demand. */
  status(): BridgeStatus {
    const server = this.remote?.server ?? this.options.addresses[0]!;
    return {
      name: this.name,
      connected: this.output !== undefined,
      address: `${server.host}:${server.port}`,
      queued: this.session?.queuedCount ?? 0,
      inflight: this.session?.inflightCount ?? 0,
      ...this.counters,
    };
  }

  private clientOptions(): ReconnectingClientOptions {
    const o = this.options;
    const version = o.protocolVersion ?? 4;
    const clean = o.cleanSession ?? false;
    return {
      servers: o.addresses,
      protocolVersion: version,
      clientId: this.clientId,
      clean,
      keepAlive: o.keepAlive ?? 60,
      username: o.username,
      password: o.password,
      tls: o.tls,
      // Incoming QoS 1/2 messages are acknowledged once routed and stored here (incoming()).
      deferAcks: true,
      bridgeFlag: version === 4 && (o.tryPrivate ?? true),
      // The remote sets the state to 0 when the connection dies without DISCONNECT.
      will: this.remoteState === undefined ? undefined : stateWill(this.remoteState),
      maxInflight: o.maxInflight ?? 100,
      properties:
        version === 5 && !clean
          ? { sessionExpiryInterval: o.sessionExpiry ?? 0xffffffff }
          : undefined,
      reconnect: {
        initialDelayMs: o.reconnectDelayMs ?? 1000,
        maxDelayMs: o.maxReconnectDelayMs ?? 30_000,
        jitter: RECONNECT_JITTER,
        // A bridge never gives up: the remote may come back, with other credentials too.
        shouldReconnect: () => true,
      },
      primaryProbeMs: o.primaryProbeMs,
    };
  }

  /** Connected: subscribe to the `in` rules on the remote, then let the session send. */
  private async up(connack: ConnackPacket, client: MqttClient): Promise<void> {
    const counters = this.counters;
    counters.connects++;
    this.failuresInARow = 0;
    if (counters.connects > 1) counters.reconnects++;
    try {
      await this.subscribeRemote(client);
      // QoS 0, before the session resends under its own packet ids (no id to collide with).
      if (this.remoteState !== undefined) {
        await client.publish(this.remoteState, '1', { qos: 0, retain: true });
      }
    } catch (err) {
      this.logger.warn({ err }, 'bridge: subscribing on the remote failed');
      return; // the connection is gone: 'offline' follows
    }
    if (this.stopped || !client.connected || this.session === undefined) return;
    const output = new BridgeOutput({
      client,
      session: this.session,
      rules: this.rules,
      counters,
      commit: this.core.persistence ? () => this.core.persistence!.commit() : undefined,
      maxInflight: this.options.maxInflight ?? 100,
      now: () => this.core.clock.now(),
      onTakeOver: () => this.takenOver(),
      logger: this.logger,
    });
    this.output = output;
    // Resends what the remote did not acknowledge (DUP), then what was queued [MQTT-4.4.0-1].
    this.session.attach(output);
    if (this.options.sendRetainedOnConnect) this.sendRetained(this.session);
    this.state(true);
    this.logger.info(
      {
        address: `${this.remote!.server.host}:${this.remote!.server.port}`,
        sessionPresent: connack.sessionPresent,
      },
      'bridge connected',
    );
  }

  /**
   * Publishes a remote message here, and acknowledges it to the remote once it is ours: routed,
   * and what routing stored (queues of offline sessions, retained) committed. The PUBACKs go out
   * in the order the messages came [MQTT-4.6.0-2], behind the acknowledgements before them.
   */
  private incoming(topic: string, packet: PublishPacket, client: MqttClient): void {
    this.rate?.took(client);
    const routed = publishInbound(this.inbound, topic, packet);
    if (packet.qos === 0) return;
    const persistence = this.core.persistence;
    const owned =
      persistence === undefined
        ? routed
        : (routed ?? Promise.resolve()).then(() => persistence.commit());
    const acknowledge = (): void => client.acknowledge(packet);
    if (owned === undefined && this.acks === undefined) {
      acknowledge();
      return;
    }
    const mine = Promise.all([this.acks, owned]).then(acknowledge, acknowledge);
    this.acks = mine;
    // The chain ends when nothing is waiting any more.
    void mine.then(() => {
      if (this.acks === mine) this.acks = undefined;
    });
  }

  /**
   * The retained messages held here that the `out` rules match, through the session as for a
   * new subscription (after what it resends and had queued, acknowledged, stored, and checked
   * against their publishers' rights), with RETAIN set [MQTT-3.3.1-8].
   */
  private sendRetained(session: Session): void {
    for (const subscription of session.subscriptions.values()) {
      sendRetained(this.core, session, subscription, true);
    }
  }

  private async subscribeRemote(client: MqttClient): Promise<void> {
    const v5 = client.protocolVersion === 5;
    const requests: SubscriptionRequest[] = this.rules.incoming.map((rule) => ({
      filter: rule.remoteFilter,
      qos: rule.qos,
      // [MQTT-3.8.3-3] what the bridge published on the remote does not come back to it.
      noLocal: v5,
      retainAsPublished: v5,
      retainHandling: 0,
    }));
    if (requests.length === 0) return;
    const codes = await client.subscribe(requests);
    codes.forEach((code, i) => {
      if (code >= 0x80) {
        this.logger.warn(
          { filter: requests[i]!.filter, code },
          'bridge: the remote refused a subscription',
        );
      }
    });
  }

  private down(error: Error | undefined): void {
    this.detach();
    this.state(false);
    this.logger.warn({ reason: error?.message ?? 'closed' }, 'bridge disconnected; reconnecting');
  }

  private attemptFailed(error: Error): void {
    this.counters.connectFailures++;
    const remote = this.remote!;
    // A 3.1.1 server that does not know Mosquitto's bridge flag refuses the protocol level.
    if (
      error instanceof ConnectRefusedError &&
      error.reasonCode === 0x01 &&
      this.options.protocolVersion !== 5
    ) {
      remote.reconfigure({ bridgeFlag: false });
      this.logger.warn(
        {},
        'bridge: the remote refused the bridge flag (tryPrivate); trying without',
      );
    }
    // Logged at debug after the first few: a remote down for hours fails every 30 s.
    const level = ++this.failuresInARow <= 3 ? 'warn' : 'debug';
    this.logger[level](
      { reason: error.message, address: `${remote.server.host}:${remote.server.port}` },
      'bridge: connection attempt failed',
    );
  }

  /** The session's output leaves (the remote connection ended): the session queues again. */
  private detach(): void {
    const output = this.output;
    this.output = undefined;
    if (output && this.session)
      this.core.registry.released(this.session, output, this.local, undefined);
  }

  /** A claim of the session by someone else (clients are refused its id): let go of it. */
  private takenOver(): void {
    this.logger.error({}, 'bridge: its session was claimed by another holder');
    this.detach();
  }

  private state(up: boolean): void {
    if (this.options.notifications ?? true) publishState(this.core, this.name, up, this.logger);
  }
}
