/**
 * Pipit's public API for embedding: `import { createBroker } from 'pipit'`. Besides the
 * broker: the built-in password-file and ACL hooks, the configuration loader that
 * `pipit broker` uses, and the MQTT client (also on its own as `pipit/client`, which does not
 * load the broker or its SQLite store).
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
  BridgeDirection,
  BridgeOptions,
  BridgeStatus,
  TopicRule,
} from './bridge/index.js';
export type {
  BrokerEvents,
  BrokerOptions,
  HttpServeOptions,
  ListenerCommon,
  ListenerOptions,
  PersistenceOptions,
  TlsOptions,
} from './broker.js';
// Operations ($SYS and logs, issue #12 O1).
export { Broker, createBroker, DEFAULT_SYS_INTERVAL, MAX_SYS_INTERVAL } from './broker.js';
// Cluster drain (issue #11, part C3).
export type { DrainResult } from './broker-drain.js';
export * from './client/index.js';
// The cluster view of GET /nodes (issue #13, dashboard-nodes).
export type {
  ClusterNode,
  ClusterOptions,
  ClusterStatus,
  NodeSelf,
  NodeSummary,
} from './cluster/index.js';
export {
  type BrokerPlan,
  ConfigError,
  configToPlan,
  type ListenerAuth,
  type ListenerConfig,
  type ListenerSpec,
  loadConfigFile,
  loadSecurity,
  type Overrides,
  type PipitConfig,
  type PlannedListener,
  parseConfig,
  type ReloadResult,
  type ResolveContext,
  type Security,
  type SecurityOptions,
  toListenerOptions,
} from './config/index.js';
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
export {
  type AclAccess,
  AclFile,
  type AclHookOptions,
  aclFileHook,
  type Current,
  FileFormatError,
  fixed,
  PasswordFile,
  type PasswordHookOptions,
  passwordFileHook,
  Reloadable,
  type TimeoutOptions,
  withTimeout,
} from './hooks/index.js';
export type { PeerNode, PeerSummary } from './http/admin/index.js';
export {
  ADMIN_API_PREFIX,
  type AdminRouteOptions,
  type AdminTarget,
  type AdminToken,
  createAdminRoute,
  DEFAULT_MAX_TAPS,
  DEFAULT_TAP_RATE,
  type NodeInfo,
  type ProblemBody,
  type ReloadReport,
  type RuntimeStats,
  type TapCounts,
  type TapMessage,
  type TapOptions,
  type TokenScope,
} from './http/admin/index.js';
// The dashboard (docs/dashboard.md).
export {
  createDashboardRoute,
  type DashboardRouteOptions,
  DEFAULT_DASHBOARD_DIR,
} from './http/dashboard/index.js';
export type { ReadinessCheck, ReadinessReport } from './http/health.js';
export {
  checkMethod,
  checkPath,
  HttpProblem,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  problemOf,
  sendProblem,
} from './http/problem.js';
export type { HttpRoute } from './http/route.js';
export type { StoreCommitTotals } from './metrics/commit-totals.js';
export { SYS_PREFIX } from './ops/index.js';
export type {
  BrokerStore,
  Clock,
  CommitObserver,
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
// The Redis store (issue #11, part 1).
export {
  isStoreUnavailable,
  MemoryStore,
  RedisStore,
  type RedisStoreOptions,
  SqliteStore,
  StoreUnavailableError,
} from './storage/index.js';
export type { ListenerAddress } from './transport/listener.js';
