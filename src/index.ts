/**
 * Pipit's public API for embedding:
 * `import { createBroker } from 'pipit'`.
 */
export type {
  BrokerEvents,
  BrokerOptions,
  ListenerCommon,
  ListenerOptions,
  PersistenceOptions,
  TlsOptions,
} from './broker.js';
export { Broker, createBroker } from './broker.js';
export type {
  AuthenticateRequest,
  AuthenticateResult,
  ClientInfo,
  CoreOptions,
  DisconnectInfo,
  DisconnectOptions,
  DropReason,
  Hook,
  HostPublish,
  Message,
  PublishRequest,
  Verdict,
} from './core/index.js';
export { DEFAULT_CORE_OPTIONS } from './core/index.js';
export type {
  BrokerStore,
  Clock,
  Durability,
  Logger,
  MessageStore,
  RetainedStore,
  SessionStore,
  StorePort,
} from './ports/index.js';
export type {
  Packet,
  Properties,
  ProtocolVersion,
  QoS,
  SubscriptionRequest,
} from './protocol/index.js';
export { MqttError, ReasonCode } from './protocol/index.js';
export { MemoryStore, SqliteStore } from './storage/index.js';
export type { ListenerAddress } from './transport/listener.js';
