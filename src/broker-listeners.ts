import type { ListenerOptions, PersistenceOptions } from './broker-options.js';
import type { BrokerCore } from './core/index.js';
import type { BrokerStore, Logger } from './ports/index.js';
import { createStore } from './storage/index.js';
import type { Listener } from './transport/listener.js';
import { startTcpListener } from './transport/tcp.js';
import { startTlsListener } from './transport/tls.js';
import { startWsListener } from './transport/ws.js';

/** Default port of each listener type. */
export const DEFAULT_PORTS = {
  mqtt: 1883,
  mqtts: 8883,
  ws: 8080,
  wss: 8081,
  http: 8088,
  https: 8443,
};

/** Options of an HTTP(S) listener. */
export type HttpListenerOptions = Extract<ListenerOptions, { type: 'http' | 'https' }>;

export function isHttpListener(options: ListenerOptions): options is HttpListenerOptions {
  return options.type === 'http' || options.type === 'https';
}

/** The store `persistence` names (undefined for memory or none: the core keeps state itself). */
export function storeFor(
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
export function startListener(
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
        maxFrameSize: options.maxFrameSize,
      });
    case 'wss':
      return startWsListener(core, {
        ...common,
        port: options.port ?? DEFAULT_PORTS.wss,
        path: options.path,
        tls: options.tls,
        allowedOrigins: options.allowedOrigins,
        maxFrameSize: options.maxFrameSize,
      });
  }
}
