/**
 * The configuration layer: YAML file -> validated config -> broker options, listeners and
 * security hooks. See docs/configuration.md.
 */
export { ConfigError, formatPath } from './errors.js';
export { type HttpListenerSpec, toHttpListenerOptions } from './http-listeners.js';
export { defaultListenerName, isLoopbackHost } from './listener-defaults.js';
export { loadConfigFile, parseConfig } from './load.js';
export {
  ENV_VARS,
  type LogLevel,
  mergeOverrides,
  type Overrides,
  parseLogLevel,
  parsePortText,
  readEnvOverrides,
} from './overrides.js';
export { clusterUrlProblem } from './redis-url-schema.js';
export { reloadConfigured } from './reload.js';
export { type AdminTokenReload, reloadAdminTokens } from './reload-tokens.js';
export { closeRevokedLogins, revokedLogins } from './revocation.js';
export {
  configSchema,
  type ListenerConfig,
  type PipitConfig,
  sysIntervalSchema,
} from './schema.js';
export {
  loadSecurity,
  type ReloadResult,
  type Security,
  type SecurityOptions,
} from './security.js';
export { parseSize } from './sizes.js';
export {
  type AdminApiPlan,
  type BrokerPlan,
  configToPlan,
  DEFAULT_HOOK_TIMEOUT_MS,
  DEFAULT_LOG_ROTATE,
  type ListenerAuth,
  type ListenerSpec,
  type ListenerTls,
  type LogPlan,
  type PersistenceOptions,
  type PlannedListener,
  type ResolveContext,
  toListenerOptions,
} from './to-options.js';
