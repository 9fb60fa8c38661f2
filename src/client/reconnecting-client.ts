/**
 * A client that stays connected: when the connection is lost it connects again after a
 * growing delay, with the same options (so a persistent session resumes), and says so in
 * events. One object outlives its connections, so listeners are added once, before the
 * first CONNECT, and see every message, the queued ones of a resumed session included.
 *
 * With `servers`, it fails over along a list of addresses (the next after a failed attempt,
 * the first again after a loss, and back to the first once it is reachable: failover.ts).
 * `run()` keeps trying from the very first attempt (a bridge must come up whenever its remote
 * does); `start()` reports a failed first attempt instead.
 *
 * Built for `pipit sub` and for bridges. With `offlineQueue`, publishes made while
 * disconnected wait (bounded) for the next connection; subscribe and unsubscribe fail at once;
 * with `resendOnLoss` too, QoS 1/2 publishes are sent again until acknowledged.
 */
import { EventEmitter } from 'node:events';
import type { ConnackPacket, DisconnectPacket, PublishPacket } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { connect } from './connect.js';
import { ConnectRefusedError, ServerDisconnectError } from './errors.js';
import {
  type BackoffPolicy,
  backoffDelay,
  probe,
  type ServerAddress,
  ServerList,
} from './failover.js';
import type { MqttClient } from './mqtt-client.js';
import { OfflineQueue, type WaitingPublish } from './offline-queue.js';
import type {
  ClientOptions,
  PublishOptions,
  SubscribeOptions,
  UnsubscribeOptions,
} from './options.js';

/** When and whether to connect again. */
export interface ReconnectOptions {
  /** Delay before the first attempt after a loss, in ms. Default 1000. */
  initialDelayMs?: number;
  /** The delay doubles per failed attempt up to this, in ms. Default 30000. */
  maxDelayMs?: number;
  /** Random fraction of each delay, 0-1 (failover.ts, `backoffDelay`). Default 0. */
  jitter?: number;
  /** A random number in [0, 1) for the jitter. Default Math.random. */
  random?: () => number;
  /**
   * Whether a loss should be followed by a new attempt. The default gives up after a
   * refused CONNACK (the same credentials would be refused again) and after MQTT 5
   * DISCONNECT 0x8E Session taken over (another client now owns the session: taking it
   * back would start a takeover loop), and tries again after anything else.
   */
  shouldReconnect?: (error: Error | undefined) => boolean;
}

/** Options of a {@link ReconnectingClient}: those of `connect()`, and the policy. */
export interface ReconnectingClientOptions extends ClientOptions {
  reconnect?: ReconnectOptions;
  /** Addresses to fail over along, the preferred first (they replace `host` and `port`). */
  servers?: readonly ServerAddress[];
  /**
   * While connected to another address than the first, how often to check (a TCP connect)
   * whether the first is back, in ms; when it is, the client moves back to it. Default
   * 60000; 0 never checks.
   */
  primaryProbeMs?: number;
  /**
   * Publishes kept while disconnected (sent in order on the next connection; more are refused
   * at once). Default 0: publishing while disconnected fails at once.
   */
  offlineQueue?: number;
  /**
   * With `offlineQueue`: a QoS 1/2 publish whose connection is lost before its PUBACK /
   * PUBCOMP is sent again on the next connection (as a new PUBLISH: at least once, also for
   * QoS 2), and its promise settles there. Default false: it rejects with the loss. A bridge
   * leaves this off: its local session resends with the stored packet ids.
   */
  resendOnLoss?: boolean;
}

/** The events of a {@link ReconnectingClient}. */
export interface ReconnectingClientEvents {
  /** A connection was accepted; emitted before any message it carries. */
  connect: [connack: ConnackPacket, client: MqttClient];
  /** An application message, and the connection it came on (to `acknowledge` it there). */
  message: [topic: string, payload: Buffer, packet: PublishPacket, client: MqttClient];
  /** The server sent DISCONNECT (MQTT 5); 'offline' follows. */
  disconnect: [packet: DisconnectPacket];
  /** The connection was lost; `error` says why. A reconnect follows unless 'close' does. */
  offline: [error: Error | undefined];
  /** An attempt is scheduled after `delayMs` (attempt 1 is the first after a loss). */
  reconnecting: [attempt: number, delayMs: number];
  /** An attempt failed; the next one is scheduled unless the policy gives up. */
  reconnectFailed: [error: Error];
  /** Stopped for good: after `end()` (no error) or when the policy gave up. */
  close: [error: Error | undefined];
}

/** The default policy: see {@link ReconnectOptions.shouldReconnect}. */
export function defaultShouldReconnect(error: Error | undefined): boolean {
  if (error instanceof ConnectRefusedError) return false;
  return !(
    error instanceof ServerDisconnectError && error.reasonCode === ReasonCode.SessionTakenOver
  );
}

/** A connection to an MQTT server that reconnects by itself. */
export class ReconnectingClient extends EventEmitter<ReconnectingClientEvents> {
  private client: MqttClient | undefined;
  private stopped = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly policy: BackoffPolicy & Pick<Required<ReconnectOptions>, 'shouldReconnect'>;
  private readonly servers: ServerList;
  private probeTimer: NodeJS.Timeout | undefined;
  /** The next attempt follows at once (moving back to the preferred address). */
  private switching = false;
  private readonly queue: OfflineQueue | undefined;
  private resentCount = 0;

  constructor(private options: ReconnectingClientOptions = {}) {
    super();
    const r = options.reconnect ?? {};
    this.policy = {
      initialDelayMs: r.initialDelayMs ?? 1000,
      maxDelayMs: r.maxDelayMs ?? 30_000,
      jitter: r.jitter ?? 0,
      random: r.random ?? Math.random,
      shouldReconnect: r.shouldReconnect ?? defaultShouldReconnect,
    };
    const first = {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? (options.tls ? 8883 : 1883),
    };
    this.servers = new ServerList(options.servers?.length ? options.servers : [first]);
    const limit = options.offlineQueue ?? 0;
    this.queue = limit > 0 ? new OfflineQueue(limit) : undefined;
  }

  /** Changes connection options for the next attempts (a bridge dropping its bridge flag). */
  reconfigure(change: Partial<ClientOptions>): void {
    this.options = { ...this.options, ...change };
  }

  /** The address of the current connection, or of the next attempt while offline. */
  get server(): ServerAddress {
    return this.servers.current;
  }

  /** The current connection, when there is one. */
  get current(): MqttClient | undefined {
    return this.client?.connected ? this.client : undefined;
  }

  /** True while a connection is up. */
  get connected(): boolean {
    return this.current !== undefined;
  }

  /**
   * Makes the first connection, trying each address of `servers` once, in order. Rejects
   * with the last failure when none answers (nothing is retried then: a wrong address or
   * credentials should be reported, not retried forever).
   */
  async start(): Promise<void> {
    if (this.client) throw new Error('start() was already called');
    for (let tried = 1; ; tried++) {
      try {
        await this.open();
        return;
      } catch (err) {
        if (tried >= this.servers.servers.length || this.stopped) throw err;
        this.servers.failed();
      }
    }
  }

  /**
   * Connects, and keeps trying (with the backoff and failover) until a connection is up:
   * failed attempts are reported as 'reconnectFailed' events, never as a rejection.
   */
  run(): void {
    if (this.client) throw new Error('run() was called after start()');
    void this.retry();
  }

  /**
   * Publishes on the current connection (see MqttClient.publish). While disconnected, the
   * publish waits in the offline queue (`offlineQueue`), or fails at once without one (and
   * after the client stopped): the promise rejects, nothing throws.
   */
  publish(topic: string, payload: string | Buffer, o?: PublishOptions): Promise<void> {
    const client = this.current;
    if (client === undefined && this.queue !== undefined && !this.stopped) {
      return this.queue.add(topic, payload, o);
    }
    if (client === undefined) {
      return Promise.reject(new Error('not connected (the client is reconnecting)'));
    }
    if (!this.resends(o)) return client.publish(topic, payload, o);
    return new Promise((resolve, reject) =>
      this.send(client, { topic, payload, options: o, resolve, reject }),
    );
  }

  /** Publishes waiting in the offline queue (new ones and ones to send again). */
  get queued(): number {
    return this.queue?.size ?? 0;
  }

  /** QoS 1/2 publishes sent again after their connection was lost (`resendOnLoss`). */
  get resent(): number {
    return this.resentCount;
  }

  private resends(o: PublishOptions | undefined): boolean {
    return this.options.resendOnLoss === true && this.queue !== undefined && (o?.qos ?? 0) > 0;
  }

  /**
   * Publishes on `client`. When that connection is lost before the acknowledgement, a QoS 1/2
   * publish goes back to the queue for the next connection (`resendOnLoss`).
   */
  private send(client: MqttClient, w: WaitingPublish): void {
    client.publish(w.topic, w.payload, w.options).then(w.resolve, (err: Error) => {
      if (client.connected || this.stopped || !this.resends(w.options)) {
        w.reject(err);
        return;
      }
      this.resentCount++;
      const next = this.current;
      if (next) this.send(next, w);
      else this.queue!.requeue(w);
    });
  }

  /** Subscribes on the current connection; rejects when offline. */
  subscribe(
    filters: Parameters<MqttClient['subscribe']>[0],
    o?: SubscribeOptions,
  ): Promise<number[]> {
    return this.online().subscribe(filters, o);
  }

  /** Unsubscribes on the current connection; rejects when offline. */
  unsubscribe(filters: string | readonly string[], o?: UnsubscribeOptions): Promise<number[]> {
    return this.online().unsubscribe(filters, o);
  }

  /** Stops reconnecting and ends the current connection with DISCONNECT. */
  async end(reasonCode = 0, properties?: Properties): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.queue?.rejectAll(new Error('the client was ended before it could send'));
    const client = this.client;
    if (client?.connected) await client.end(reasonCode, properties);
    else client?.destroy();
    this.emit('close', undefined);
  }

  private online(): MqttClient {
    const client = this.current;
    if (!client) throw new Error('not connected (the client is reconnecting)');
    return client;
  }

  /** Connects, forwarding the new connection's events from before its CONNECT. */
  private open(): Promise<MqttClient> {
    const { host, port } = this.servers.current;
    return connect({ ...this.options, host, port }, (client) => {
      client.on('connack', (packet) => {
        if (this.stopped) {
          client.destroy();
          return;
        }
        // Current from here on, so a 'connect' listener can subscribe through this object.
        this.client = client;
        this.attempt = 0;
        this.watchPrimary(client);
        // What waited goes first, before anything the 'connect' listeners publish.
        this.queue?.flush((w) => this.send(client, w));
        this.emit('connect', packet, client);
      });
      client.on('message', (topic, payload, packet) =>
        this.emit('message', topic, payload, packet, client),
      );
      client.on('disconnect', (packet) => this.emit('disconnect', packet));
      client.on('close', (error) => {
        // Only the close of a connection that was up means "lost"; a failed attempt
        // rejects open() instead.
        if (client.connack !== undefined) this.lost(error);
      });
    });
  }

  private lost(error: Error | undefined): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.stopped) return;
    this.emit('offline', error);
    // After a loss, the preferred address first.
    this.servers.rewind();
    if (this.switching) {
      this.switching = false;
      this.timer = setTimeout(() => void this.retry(), 0);
      return;
    }
    this.scheduleOrGiveUp(error);
  }

  /**
   * Connected to a fallback address: probe the first one now and then, and once it answers,
   * end this connection (DISCONNECT) to connect to the first at once.
   */
  private watchPrimary(client: MqttClient): void {
    const every = this.options.primaryProbeMs ?? 60_000;
    if (!this.servers.onFallback || every <= 0) return;
    const primary = this.servers.servers[0]!;
    this.probeTimer = setInterval(() => {
      void probe(primary, Math.min(every, 5000)).then((up) => {
        if (!up || this.stopped || this.client !== client || !client.connected) return;
        if (this.probeTimer) clearInterval(this.probeTimer);
        this.switching = true;
        void client.end();
      });
    }, every);
    this.probeTimer.unref();
  }

  private scheduleOrGiveUp(error: Error | undefined): void {
    if (!this.policy.shouldReconnect(error)) {
      this.stopped = true;
      this.queue?.rejectAll(error ?? new Error('the client stopped reconnecting'));
      this.emit('close', error);
      return;
    }
    this.attempt++;
    const delay = backoffDelay(this.policy, this.attempt);
    this.emit('reconnecting', this.attempt, delay);
    this.timer = setTimeout(() => void this.retry(), delay);
  }

  private async retry(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.open();
    } catch (err) {
      if (this.stopped) return;
      this.servers.failed(); // failover: the next attempt goes to the next address
      this.emit('reconnectFailed', err as Error);
      this.scheduleOrGiveUp(err as Error);
    }
  }
}
