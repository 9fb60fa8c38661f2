/**
 * The admin API of a broker that `pipit broker` runs from its configuration: the configured
 * tokens, checked through the broker's login guard (one hash queue for MQTT logins and API
 * tokens), `POST /reload` doing what SIGHUP does (one function serves both, and rereads the
 * tokens from the configuration file), this package's version. The HTTP listener mounts the
 * route it returns.
 */
import type { Broker } from '../broker.js';
import { type BrokerPlan, reloadConfigured, type Security } from '../config/index.js';
import { createAdminRoute, type ReloadReport, TokenVerifier } from '../http/admin/index.js';
import type { HttpRoute } from '../http/route.js';
import type { Logger } from '../ports/index.js';
import { packageVersion } from './version.js';

/** What the configured admin API is made of. */
export interface ConfiguredAdminApi {
  broker: Broker;
  plan: BrokerPlan;
  security: Security;
  logger: Logger;
  /** When the broker started (ms since the epoch); default now. */
  startedAt?: number;
  /** The configuration file (absolute): a reload rereads the tokens from it. None: they stay. */
  configFile?: string | undefined;
}

/** The admin API's route, and the reload that SIGHUP and `POST /reload` both run. */
export interface ConfiguredAdminParts {
  route: HttpRoute;
  /** Reloads the password, ACL and TLS files and the tokens; `trigger` names it in the log. */
  reload(trigger: string): Promise<ReloadReport>;
}

/** The admin API route of a configured broker (see the file comment). */
export function configuredAdminRoute(parts: ConfiguredAdminApi): HttpRoute {
  return configuredAdminApi(parts).route;
}

/** The admin API of a configured broker and its reload (see the file comment). */
export function configuredAdminApi(parts: ConfiguredAdminApi): ConfiguredAdminParts {
  const { broker, plan, security, logger } = parts;
  const verifier = new TokenVerifier(plan.adminApi.tokens, security.loginGuard);
  const tokens = parts.configFile === undefined ? undefined : { file: parts.configFile, verifier };
  const reload = (trigger: string): Promise<ReloadReport> =>
    reloadConfigured(broker, plan.listeners, security, logger, trigger, tokens);
  const route = createAdminRoute({
    broker,
    tokens: plan.adminApi.tokens,
    verifier,
    reload: () => reload('admin API'),
    node: {
      version: packageVersion(),
      startedAt: parts.startedAt,
      // In a cluster a node is named by its cluster id, as its peers are.
      ...(broker.cluster ? { id: () => `node-${broker.cluster?.nodeId}` } : {}),
    },
    ...(broker.cluster
      ? {
          peers: () => broker.cluster?.status().peers.map((p) => `node-${p.nodeId}`) ?? [],
        }
      : {}),
    maxBodyBytes: plan.adminApi.maxBodyBytes,
    ...(plan.adminApi.tap ? { tap: plan.adminApi.tap } : {}),
    logger: logger.child({ component: 'admin-api' }),
  });
  return { route, reload };
}
