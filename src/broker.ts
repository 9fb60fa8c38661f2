/**
 * The composition root: a Broker wires the core to its transports (and, later, stores and
 * cluster) and exposes the embedding API with typed events.
 */
import { EventEmitter } from 'node:events';
import type {
  ClientInfo,
  CoreOptions,
  DisconnectInfo,
  DropReason,
  Hook,
  HostPublish,
  Message,
} from './core/index.js';
import { BrokerCore } from './core/index.js';
import type { Clock, Logger } from './ports/index.js';
import type { SubscriptionRequest } from './protocol/index.js';
import type { Listener, ListenerAddress } from './transport/listener.js';
import { startTcpListener } from './transport/tcp.js';

/** Options of {@link createBroker}: core limits plus the logger and clock. */
export interface BrokerOptions extends Partial<CoreOptions> {
  /** A pino (or compatible) logger; silent by default when embedding. */
  logger?: Logger;
  /** Time source; the system clock by default. */
  clock?: Clock;
}

/** Where to listen. */
export interface ListenOptions {
  /** TCP port; 0 picks a free one. Default 1883. */
  port?: number;
  /** Interface; default 127.0.0.1 (localhost only, a secure default). */
  host?: string;
  /** Listener name for logs and hooks. */
  name?: string;
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
  private readonly running: Listener[] = [];
  private readonly wiredEvents = new Set<string>();

  constructor(options: BrokerOptions = {}) {
    super();
    const { logger, clock, ...core } = options;
    this.core = new BrokerCore({ options: core, logger, clock });
    // Notification hooks are installed only for events someone listens to, so the
    // publish and delivery paths stay free of them otherwise.
    (this as EventEmitter).on('newListener', (event: string | symbol) =>
      this.wireEvent(String(event)),
    );
  }

  /** Starts a TCP listener; resolves with its address. */
  async listen(options: ListenOptions = {}): Promise<ListenerAddress> {
    const listener = await startTcpListener(this.core, {
      port: options.port ?? 1883,
      host: options.host,
      name: options.name,
    });
    this.running.push(listener);
    this.core.logger.info({ address: listener.address.url, listener: listener.name }, 'listening');
    return listener.address;
  }

  /** Addresses of the running listeners. */
  get addresses(): ListenerAddress[] {
    return this.running.map((l) => l.address);
  }

  /** Adds a hook (authentication, authorization, transforms, notifications). */
  addHook(hook: Hook): this {
    this.core.addHook(hook);
    return this;
  }

  /** Publishes a message from the host application. Resolves with the number of deliveries. */
  publish(message: HostPublish): Promise<number> {
    return this.core.publishFromHost(message);
  }

  /** Disconnects every client (MQTT 5: DISCONNECT 0x8B) and stops the listeners. */
  async close(): Promise<void> {
    this.core.close();
    await Promise.all(this.running.splice(0).map((l) => l.close()));
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
