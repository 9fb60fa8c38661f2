/**
 * Pipit's public API for embedding:
 * `import { createBroker } from 'pipit'`.
 */

export type {
  AdminApi,
  BrokerCounters,
  ClientDetails,
  ClientQuery,
  ClientSummary,
  DeleteSessionOptions,
  Page,
  PageRequest,
  RetainedMessageInfo,
  RetainedQuery,
  SessionQuery,
  SessionSummary,
  SubscriptionInfo,
  SubscriptionQuery,
  WillInfo,
} from './admin/index.js';
export {
  DEFAULT_PAGE_SIZE,
  InvalidRequestError,
  MAX_PAGE_SIZE,
  PAYLOAD_PREVIEW_BYTES,
} from './admin/index.js';
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
export type { BrokerStore, Clock, Durability, Logger } from './ports/index.js';
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
