/**
 * The admin API of a broker that `pipit broker` runs from its configuration: the configured
 * tokens, checked through the broker's login guard (one hash queue for MQTT logins and API
 * tokens), `POST /reload` doing what SIGHUP does, this package's version. The HTTP listener
 * mounts the route it returns.
 */
import type { Broker } from '../broker.js';
import { type BrokerPlan, reloadConfigured, type Security } from '../config/index.js';
import { createAdminRoute } from '../http/admin/index.js';
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
}

/** The admin API route of a configured broker (see the file comment). */
export function configuredAdminRoute(parts: ConfiguredAdminApi): HttpRoute {
  const { broker, plan, security, logger } = parts;
  return createAdminRoute({
    broker,
    tokens: plan.adminApi.tokens,
    guard: security.loginGuard,
    reload: () => reloadConfigured(broker, plan.listeners, security, logger, 'admin API'),
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
}
