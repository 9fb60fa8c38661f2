/**
 * Builds the parts of a broker core and wires them to each other: options, clock and logger,
 * the memory budget and limits, the store's side, retained messages, the router, wills, the
 * session registry, the message pipeline. BrokerCore is the facade over what this returns.
 */
import type { BrokerStore, Clock, Logger, Random } from '../ports/index.js';
import { silentLogger, systemClock, systemRandom } from '../ports/index.js';
import { BudgetAdmission } from './budget-admission.js';
import { ConnectDeadlines } from './connect-deadlines.js';
import type { ConnectTimeoutTarget } from './core-services.js';
import { DropCounter } from './drops.js';
import { HookChain } from './hook-chain.js';
import { KeepAliveDeadlines } from './keep-alive-deadlines.js';
import { ConnectionAdmission, RefusalLog } from './limits.js';
import { withLongTimers } from './long-timer.js';
import { MemoryBudget } from './memory-budget.js';
import { MessageIds } from './message-ids.js';
import { MessagePipeline } from './message-pipeline.js';
import type { CoreMetrics } from './metrics.js';
import { createCoreMetrics } from './metrics.js';
import type { CoreOptions } from './options.js';
import { resolveCoreOptions } from './options.js';
import { Persistence } from './persistence.js';
import { RetainedMessages } from './retained.js';
import { Router } from './router.js';
import type { SessionEnvironment } from './session.js';
import { SessionRegistry } from './session-registry.js';
import { SubscriptionService } from './subscription-service.js';
import { WillScheduler } from './wills.js';

/** What a core is built from (BrokerCoreDeps). */
export interface CorePartsDeps {
  options?: Partial<CoreOptions>;
  clock?: Clock;
  logger?: Logger;
  /** Where randomness comes from (assigned client ids); Web Crypto by default. */
  random?: Random;
  /**
   * This broker's id among the nodes that share state (0 to 255; 0 for a single broker): it
   * makes message ids unique across them (message-ids.ts).
   */
  nodeId?: number;
  /** Where persistent state goes; without one, everything lives in memory only. */
  store?: BrokerStore;
}

/** The parts of a core, wired. */
export interface CoreParts {
  readonly options: CoreOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: CoreMetrics;
  readonly hooks: HookChain;
  readonly refusals: RefusalLog;
  readonly admission: ConnectionAdmission;
  readonly budget: BudgetAdmission;
  readonly persistence: Persistence | undefined;
  readonly retained: RetainedMessages;
  readonly router: Router;
  readonly drops: DropCounter;
  readonly messageIds: MessageIds;
  readonly wills: WillScheduler;
  readonly subscriptions: SubscriptionService;
  readonly registry: SessionRegistry;
  readonly pipeline: MessagePipeline;
  readonly connectDeadlines: ConnectDeadlines<ConnectTimeoutTarget>;
  readonly keepAlives: KeepAliveDeadlines;
}

/** Builds and wires the parts of a core. */
export function buildCoreParts(deps: CorePartsDeps): CoreParts {
  const base = buildBase(deps);
  const { options, clock, persistence } = base;
  const pipeline = new MessagePipeline(base);
  const wills = new WillScheduler(
    clock,
    (will, client, verdict) => pipeline.fromWill(will, client, verdict),
    persistence,
  );
  const subscriptions = new SubscriptionService(base.router, base.budget);
  const registry = new SessionRegistry({
    ...base,
    random: deps.random ?? systemRandom,
    subscriptions,
    wills,
    environment: sessionEnvironment(base),
  });
  const connectDeadlines = new ConnectDeadlines<ConnectTimeoutTarget>(
    clock,
    options.connectTimeoutMs,
    (conn) => conn.connectTimedOut(),
  );
  const keepAlives = new KeepAliveDeadlines(clock);
  return { ...base, wills, subscriptions, registry, pipeline, connectDeadlines, keepAlives };
}

/** The parts that depend on no other part but options, clock, logger and the store. */
function buildBase(deps: CorePartsDeps) {
  const options = resolveCoreOptions(deps.options);
  // Session expiry and will delay may exceed a Node timer's range [MQTT-3.1.2-23].
  const clock = withLongTimers(deps.clock ?? systemClock);
  const logger = deps.logger ?? silentLogger;
  const metrics = createCoreMetrics();
  const hooks = new HookChain(logger);
  const persistence = deps.store
    ? new Persistence(
        deps.store,
        (err) => logger.error({ err }, 'store commit failed'),
        (clientId, count) =>
          logger.error(
            { clientId, count },
            'queued messages counted but not in the store: lost (the store lost writes it had committed, e.g. a Redis failover without storage.wait or cluster.wait)',
          ),
      )
    : undefined;
  const refusals = new RefusalLog(metrics, logger, clock);
  const admission = new ConnectionAdmission(options.maxConnections, refusals, {
    maxConnectionsPerAddress: options.maxConnectionsPerAddress,
    onLoopback: options.addressLimitsOnLoopback,
  });
  const memory = new MemoryBudget(
    options.memoryBudget,
    options.maxQueuedMessagesTotal,
    metrics.memory,
  );
  const budget = new BudgetAdmission(memory, refusals);
  const retained = new RetainedMessages(
    { maxMessages: options.maxRetainedMessages, maxBytes: options.maxRetainedBytes },
    memory,
    clock,
    persistence,
  );
  return {
    options,
    clock,
    logger,
    metrics,
    hooks,
    persistence,
    refusals,
    admission,
    memory,
    budget,
    retained,
    router: new Router(),
    drops: new DropCounter(metrics, hooks),
    messageIds: new MessageIds(deps.nodeId ?? 0),
  };
}

/** Pause before a connected session reads its stored queue again after a failed read. */
const QUEUE_READ_RETRY_MS = 1000;

/** What sessions are made with: queue limits, the budget, and where drops are reported. */
function sessionEnvironment(base: ReturnType<typeof buildBase>): SessionEnvironment {
  const { options, clock, logger, budget, drops } = base;
  return {
    now: () => clock.now(),
    maxQueuedMessages: options.maxQueuedMessages,
    maxQueuedBytes: options.maxQueuedBytes,
    queueQos0Offline: options.queueQos0Offline,
    budget: base.memory,
    dropped: (session, delivery, reason) => {
      drops.record(session.clientId, delivery.message, reason);
      if (reason === 'memory-budget') budget.refuseQueued(session.clientId);
      else if (reason === 'queued-total') budget.refuseQueuedTotal(session.clientId);
    },
    failed: (session, err, retry) => {
      logger.error(
        { err, clientId: session.clientId, retryMs: QUEUE_READ_RETRY_MS },
        'reading a stored queue failed',
      );
      clock.setTimeout(retry, QUEUE_READ_RETRY_MS);
    },
  };
}
