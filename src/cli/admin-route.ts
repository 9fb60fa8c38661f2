/**
 * The admin API of a broker that `pipit broker` runs from its configuration: the configured
 * tokens, checked through the broker's login guard (one hash queue for MQTT logins and API
 * tokens), `POST /reload` doing what SIGHUP does (one function serves both, and rereads the
 * tokens from the configuration file), this package's version. The HTTP listener mounts the
 * route it returns.
 */
import type { Broker } from '../broker.js';
import { type BrokerPlan, reloadConfigured, type Security } from '../config/index.js';
import {
  type AdminRouteOptions,
  createAdminRoute,
  type ReloadReport,
  TokenVerifier,
} from '../http/admin/index.js';
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
  /**
   * The drain SIGTERM begins on a cluster node, for `POST /drain`. None (a node outside a
   * cluster): `POST /drain` answers 501.
   */
  drain?: AdminRouteOptions['drain'];
}

/**
 * What `GET /nodes` says of a cluster node beyond a lone broker's: its id as its peers name
 * it, its state (draining) and address, and the live peers with the summaries they publish
 * on each heartbeat. Empty for a broker that is not a cluster node.
 */
export function clusterViewOptions(
  broker: Broker,
): Pick<AdminRouteOptions, 'peers'> & { node?: NonNullable<AdminRouteOptions['node']> } {
  const cluster = broker.cluster;
  if (!cluster) return {};
  return {
    node: {
      // In a cluster a node is named by its cluster id, as its peers are.
      id: () => `node-${cluster.nodeId}`,
      state: () => (cluster.stats.draining ? 'draining' : 'up'),
      ...(cluster.options.advertise === undefined ? {} : { address: cluster.options.advertise }),
    },
    peers: async () =>
      (await cluster.peerSummaries()).map(({ nodeId, summary }) => ({
        nodeId: `node-${nodeId}`,
        summary,
      })),
  };
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
    ...(parts.drain === undefined ? {} : { drain: parts.drain }),
    ...clusterViewOptions(broker),
    node: {
      version: packageVersion(),
      startedAt: parts.startedAt,
      ...clusterViewOptions(broker).node,
    },
    maxBodyBytes: plan.adminApi.maxBodyBytes,
    ...(plan.adminApi.tap ? { tap: plan.adminApi.tap } : {}),
    logger: logger.child({ component: 'admin-api' }),
  });
  return { route, reload };
}
