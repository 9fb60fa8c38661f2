/**
 * A validated configuration (plus overrides) -> what the broker command needs: the broker
 * options, the listeners to open, and each listener's auth settings. Applies the defaults,
 * including the secure ones: without a file, one listener on 127.0.0.1:1883; anonymous
 * clients are allowed by default only on loopback listeners without a password file.
 */
import { resolve } from 'node:path';
import type { BrokerOptions, ListenerOptions, TlsOptions } from '../broker.js';
import type { CoreOptions } from '../core/index.js';
import type { LoginGuardOptions } from '../hooks/index.js';
import { toBridgeOptions } from './bridges.js';
import {
  type HttpListenerSpec,
  httpListenerSpec,
  httpNotices,
  isHttpEntry,
} from './http-listeners.js';
import {
  DEFAULT_HOST,
  DEFAULT_PORTS,
  DEFAULT_WS_PATH,
  defaultListenerName,
  isLoopbackHost,
  type ListenerType,
} from './listener-defaults.js';
import type { LogLevel, Overrides } from './overrides.js';
import { type PersistenceOptions, persistencePlan } from './persistence-plan.js';
import type { AuthConfig, ListenerConfig, PipitConfig } from './schema.js';
import {
  type AdminApiPlan,
  adminApiPlan,
  clusterOptions,
  type LogPlan,
  logPlan,
  sysInterval,
} from './section-plans.js';

export type { PersistenceOptions } from './persistence-plan.js';
export { type AdminApiPlan, DEFAULT_LOG_ROTATE, type LogPlan } from './section-plans.js';

/** TLS settings of a listener; file paths are absolute. */
export type ListenerTls = TlsOptions;

/** What `broker.listen()` is given for one listener. */
export interface ListenerSpec {
  type: ListenerType;
  port: number;
  host: string;
  name: string;
  path?: string;
  tls?: ListenerTls;
  /** The listener's own connection cap (absent: only limits.maxConnections applies). */
  maxConnections?: number;
  /** ws/wss: browser origins allowed besides the same-host rule. */
  allowedOrigins?: string[];
  /** ws/wss: the largest WebSocket message accepted, in bytes. */
  maxFrameSize?: number;
}

/** A listener's effective auth settings. */
export interface ListenerAuth {
  allowAnonymous: boolean;
  /** True when allowAnonymous was written in the file (listener or global). */
  allowAnonymousExplicit: boolean;
  passwordFile?: string;
  aclFile?: string;
  /** A client with a verified certificate identity is authenticated by it. */
  identityAsUsername: boolean;
  /** The keys the files came from, for error messages (`auth.passwordFile`, ...). */
  sources: { passwordFile: string; aclFile: string };
}

/** One listener with its auth. */
export interface PlannedListener {
  listen: ListenerSpec;
  auth: ListenerAuth;
}

/** Everything the broker command needs to start. */
export interface BrokerPlan {
  /** For createBroker (without logger and clock). */
  options: BrokerOptions & { persistence: PersistenceOptions };
  listeners: PlannedListener[];
  hookTimeoutMs: number;
  /** Login protection of the password files (auth.login and limits.addressLimitsOnLoopback). */
  login: LoginGuardOptions;
  logLevel: LogLevel;
  /**
   * With bridges: how their incoming messages are authorized (the global `auth.aclFile`,
   * scoped to the bridges' listener name; without one they are allowed).
   */
  bridgeAuth?: ListenerAuth;
  /** Lines worth logging at start: what the secure defaults did and how to change them. */
  notices: { level: 'info' | 'warn'; message: string }[];
  /** The admin HTTP API: its tokens (none: every request is refused) and body limit. */
  adminApi: AdminApiPlan;
  /** HTTP listeners (metrics, health checks), in configuration order; not in `listeners`. */
  httpListeners: HttpListenerSpec[];
  /** Where log lines go and in which format (`log`). */
  log: LogPlan;
}

/** Where relative paths point: the file's directory for paths in it, cwd for overrides. */
export interface ResolveContext {
  /** Directory of the configuration file (cwd when there is none). */
  baseDir: string;
  /** Directory for paths given by flags and environment variables. */
  cwd: string;
  overrides?: Overrides;
}

/** Default of auth.hookTimeoutMs. */
export const DEFAULT_HOOK_TIMEOUT_MS = 5000;

function limitsToCore(config: PipitConfig): Partial<CoreOptions> {
  const l = config.limits ?? {};
  const m = config.mqtt ?? {};
  const core: Partial<CoreOptions> = {
    maximumPacketSize: l.maxPacketSize,
    receiveMaximum: l.receiveMaximum,
    maxInflight: l.maxInflight,
    maxQueuedMessages: l.maxQueuedMessages,
    maxQueuedBytes: l.maxQueuedBytes,
    maxSocketBufferBytes: l.maxSocketBuffer,
    topicAliasMaximum: l.topicAliasMaximum,
    maxSessionExpiry: l.maxSessionExpiry,
    maxKeepAlive: l.maxKeepAlive,
    connectTimeoutMs:
      l.connectTimeout === undefined ? undefined : Math.round(l.connectTimeout * 1000),
    maxRetainedMessages: l.maxRetainedMessages,
    maxSubscriptionsPerClient: l.maxSubscriptionsPerClient,
    maxRetainedBytes: l.maxRetainedBytes,
    maxConnections: l.maxConnections,
    maxTopicLength: l.maxTopicLength,
    maxTopicLevels: l.maxTopicLevels,
    maxPublishRate: l.maxPublishRate,
    maximumQoS: m.maximumQoS,
    retainAvailable: m.retainAvailable,
    queueQos0Offline: m.queueQos0Offline,
    assignedClientIdPrefix: m.assignedClientIdPrefix,
    serverRedirect: m.redirect,
    bindClientIdToUser: config.auth?.bindClientIdToUser,
    checkRetainSource: config.auth?.checkRetainSource,
    outputStallTimeoutMs:
      l.outputStallTimeout === undefined ? undefined : Math.round(l.outputStallTimeout * 1000),
    qos0DrainWaitMs: l.qos0DrainWait === undefined ? undefined : Math.round(l.qos0DrainWait * 1000),
    maxConnectionsPerAddress: l.maxConnectionsPerAddress,
    addressLimitsOnLoopback: l.addressLimitsOnLoopback,
    memoryBudget: l.memoryBudget,
    maxQueuedMessagesTotal: l.maxQueuedMessagesTotal,
    v3SessionExpiry: l.v3SessionExpiry,
  };
  for (const key of Object.keys(core) as (keyof CoreOptions)[]) {
    if (core[key] === undefined) delete core[key];
  }
  return core;
}

function listenerSpec(entry: ListenerConfig, baseDir: string): ListenerSpec {
  const type = entry.type ?? 'mqtt';
  const spec: ListenerSpec = {
    type,
    port: entry.port ?? DEFAULT_PORTS[type],
    host: entry.host ?? DEFAULT_HOST,
    name: entry.name ?? defaultListenerName(entry),
  };
  if (type === 'ws' || type === 'wss') spec.path = entry.path ?? DEFAULT_WS_PATH;
  if (entry.maxConnections !== undefined) spec.maxConnections = entry.maxConnections;
  if (entry.allowedOrigins !== undefined) spec.allowedOrigins = entry.allowedOrigins;
  if (entry.maxFrameSize !== undefined) spec.maxFrameSize = entry.maxFrameSize;
  const tls = entry.tls;
  if (tls?.cert !== undefined && tls.key !== undefined) {
    const { cert, key, ca, ...rest } = tls;
    spec.tls = { ...rest, cert: resolve(baseDir, cert), key: resolve(baseDir, key) };
    if (ca !== undefined) spec.tls.ca = resolve(baseDir, ca);
  }
  return spec;
}

function listenerAuth(
  entry: ListenerConfig,
  index: number,
  spec: ListenerSpec,
  config: PipitConfig,
  baseDir: string,
): ListenerAuth {
  const global: AuthConfig = config.auth ?? {};
  const own = entry.auth ?? {};
  const passwordFile = own.passwordFile ?? global.passwordFile;
  const aclFile = own.aclFile ?? global.aclFile;
  const explicit = own.allowAnonymous ?? global.allowAnonymous;
  const identityAsUsername = spec.tls?.useIdentityAsUsername === true;
  const auth: ListenerAuth = {
    // Deny by default, except on loopback without a password file (the out-of-the-box case).
    allowAnonymous: explicit ?? (isLoopbackHost(spec.host) && passwordFile === undefined),
    allowAnonymousExplicit: explicit !== undefined,
    identityAsUsername,
    sources: {
      passwordFile: own.passwordFile
        ? `listeners[${index}].auth.passwordFile`
        : 'auth.passwordFile',
      aclFile: own.aclFile ? `listeners[${index}].auth.aclFile` : 'auth.aclFile',
    },
  };
  if (passwordFile !== undefined) auth.passwordFile = resolve(baseDir, passwordFile);
  if (aclFile !== undefined) auth.aclFile = resolve(baseDir, aclFile);
  return auth;
}

function noticesFor(listeners: PlannedListener[]): BrokerPlan['notices'] {
  const notices: BrokerPlan['notices'] = [];
  for (const { listen, auth } of listeners) {
    if (isLoopbackHost(listen.host)) continue;
    const where = `listener ${listen.name} (${listen.host}:${listen.port})`;
    if (!auth.allowAnonymous && !auth.allowAnonymousExplicit && auth.passwordFile === undefined) {
      notices.push({
        level: 'warn',
        message: `${where} is reachable from other machines and has no password file: anonymous clients are refused (deny by default); set auth.passwordFile to admit users, or auth.allowAnonymous: true to let anyone in`,
      });
    } else if (auth.allowAnonymous && auth.aclFile === undefined) {
      notices.push({
        level: 'warn',
        message: `${where} is reachable from other machines and lets anonymous clients publish and subscribe to anything`,
      });
    }
  }
  if (listeners.every(({ listen }) => isLoopbackHost(listen.host))) {
    // Point at auth.passwordFile only when it is not set yet: the advice is about what is missing.
    const needsPasswords = listeners.some(({ auth }) => auth.passwordFile === undefined);
    notices.push({
      level: 'info',
      message: `listening on this machine only; to accept other machines set a listener host (or --host 0.0.0.0)${needsPasswords ? ' with auth.passwordFile' : ''} (see docs/configuration.md)`,
    });
  }
  return notices;
}

/** The argument of `broker.listen()` for a planned listener. */
export function toListenerOptions(spec: ListenerSpec): ListenerOptions {
  const { type, port, host, name, path, tls, maxConnections, allowedOrigins, maxFrameSize } = spec;
  if (type === 'http' || type === 'https') {
    throw new Error(`listener ${name}: an ${type} listener is planned in httpListeners`);
  }
  const common = { port, host, name, ...(maxConnections === undefined ? {} : { maxConnections }) };
  const ws = {
    ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
    ...(maxFrameSize === undefined ? {} : { maxFrameSize }),
  };
  if (type === 'mqtt') return { type, ...common };
  if (type === 'ws') return { type, ...common, path, ...ws };
  if (tls === undefined) throw new Error(`listener ${name}: a ${type} listener needs tls`);
  return type === 'mqtts' ? { type, ...common, tls } : { type, ...common, path, tls, ...ws };
}

/** auth.login (seconds in the file, milliseconds here) and the loopback switch. */
function loginOptions(config: PipitConfig): LoginGuardOptions {
  const l = config.auth?.login ?? {};
  const ms = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));
  const login: LoginGuardOptions = {
    maxConcurrentHashes: l.maxConcurrentHashes,
    maxQueuedLogins: l.maxQueued,
    freeFailures: l.freeFailures,
    failureDelayMs: ms(l.failureDelay),
    maxFailureDelayMs: ms(l.maxFailureDelay),
    cacheSize: l.cacheSize,
    cacheTtlMs: ms(l.cacheTtl),
    addressLimitsOnLoopback: config.limits?.addressLimitsOnLoopback,
  };
  for (const key of Object.keys(login) as (keyof LoginGuardOptions)[]) {
    if (login[key] === undefined) delete login[key];
  }
  return login;
}

/** Applies defaults and overrides to a validated configuration. */
export function configToPlan(config: PipitConfig, ctx: ResolveContext): BrokerPlan {
  const o = ctx.overrides ?? {};
  const entries: ListenerConfig[] = config.listeners ?? [{}];
  const firstMqtt = entries.findIndex((entry) => !isHttpEntry(entry));
  const httpListeners = entries
    .filter(isHttpEntry)
    .map((entry) => httpListenerSpec(entry, listenerSpec(entry, ctx.baseDir)));
  const listeners = entries.flatMap((entry, index) => {
    if (isHttpEntry(entry)) return [];
    const spec = listenerSpec(entry, ctx.baseDir);
    if (index === firstMqtt) {
      // The first MQTT listener takes --port/--host; its default name follows the new port.
      if (o.port !== undefined) spec.port = o.port;
      if (o.host !== undefined) spec.host = o.host;
      if (entry.name === undefined) spec.name = defaultListenerName({ ...entry, port: spec.port });
    }
    return [{ listen: spec, auth: listenerAuth(entry, index, spec, config, ctx.baseDir) }];
  });
  return {
    options: {
      ...limitsToCore(config),
      persistence: persistencePlan(config, ctx),
      ...(config.bridges === undefined
        ? {}
        : { bridges: toBridgeOptions(config.bridges, ctx.baseDir) }),
      ...clusterOptions(config, o),
      ...sysInterval(config, o),
      ...(config.metrics === undefined ? {} : { metrics: config.metrics }),
    },
    listeners,
    hookTimeoutMs: config.auth?.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
    login: loginOptions(config),
    logLevel: o.logLevel ?? config.log?.level ?? 'info',
    ...(config.bridges === undefined ? {} : { bridgeAuth: bridgeAuth(config, ctx.baseDir) }),
    adminApi: adminApiPlan(config),
    notices: [...noticesFor(listeners), ...httpNotices(httpListeners)],
    httpListeners,
    log: logPlan(config, ctx.baseDir),
  };
}

/** The auth of bridged messages: the global ACL file, nothing to log in with. */
function bridgeAuth(config: PipitConfig, baseDir: string): ListenerAuth {
  const aclFile = config.auth?.aclFile;
  return {
    allowAnonymous: true,
    allowAnonymousExplicit: false,
    identityAsUsername: false,
    sources: { passwordFile: 'auth.passwordFile', aclFile: 'auth.aclFile' },
    ...(aclFile === undefined ? {} : { aclFile: resolve(baseDir, aclFile) }),
  };
}
