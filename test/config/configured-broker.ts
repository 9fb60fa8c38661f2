/**
 * A broker started from configuration text the way `pipit broker` does it (plan, security
 * hooks, listeners), on free loopback ports, with the store PIPIT_TEST_STORE asks for (none by
 * default) rather than the configured one.
 */
import { type Broker, createBroker } from '../../src/broker.js';
import {
  type BrokerPlan,
  configToPlan,
  loadSecurity,
  parseConfig,
  type Security,
  toListenerOptions,
} from '../../src/config/index.js';
import type { Hook } from '../../src/core/index.js';
import { createTestStore } from '../helpers/test-store.js';

/** A running configured broker. */
export interface ConfiguredBroker {
  broker: Broker;
  security: Security;
  plan: BrokerPlan;
  /** mqtt://127.0.0.1:<port> per listener, in configuration order. */
  urls: string[];
  close(): Promise<void>;
}

/**
 * Starts a broker from YAML `text`; relative paths resolve against `baseDir`. Every listener
 * gets port 0 (a free one) and the configured storage is replaced by the test store.
 */
export async function startConfigured(
  text: string,
  baseDir: string,
  customHooks: Hook[] = [],
): Promise<ConfiguredBroker> {
  const plan = configToPlan(parseConfig(text), {
    baseDir,
    cwd: baseDir,
    overrides: { memory: true },
  });
  const security = await loadSecurity(plan.listeners, {
    hookTimeoutMs: plan.hookTimeoutMs,
    customHooks,
    login: plan.login,
    bridgeAuth: plan.bridgeAuth,
  });
  const { persistence: _memory, ...options } = plan.options;
  const broker = createBroker({ ...options, store: createTestStore() });
  security.loginGuard.reportTo(broker.core.refusals);
  for (const hook of security.hooks) broker.addHook(hook);
  const urls: string[] = [];
  for (const { listen } of plan.listeners) {
    const address = await broker.listen(toListenerOptions({ ...listen, port: 0 }));
    urls.push(`mqtt://127.0.0.1:${address.port}`);
  }
  return { broker, security, plan, urls, close: () => broker.close() };
}
