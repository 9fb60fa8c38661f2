/**
 * The parts of the core that its modules share, as an interface: connections, protocol
 * handlers and the restore step take it (or a narrower Pick of it, handler-context.ts)
 * rather than the BrokerCore class, so that none of them imports broker-core.ts and the core
 * has no import cycle. BrokerCore implements it.
 */
import type { Clock, Logger } from '../ports/index.js';
import type { BudgetAdmission } from './budget-admission.js';
import type { ConnectDeadlines } from './connect-deadlines.js';
import type { HookChain } from './hook-chain.js';
import type { KeepAliveDeadlines } from './keep-alive-deadlines.js';
import type { RefusalLog } from './limits.js';
import type { Message } from './message.js';
import type { MessageIds } from './message-ids.js';
import type { MessagePipeline } from './message-pipeline.js';
import type { CoreMetrics, DropReason } from './metrics.js';
import type { CoreOptions } from './options.js';
import type { Persistence } from './persistence.js';
import type { RetainedMessages } from './retained.js';
import type { Router } from './router.js';
import type { Session } from './session.js';
import type { SessionRegistry } from './session-registry.js';
import type { SubscriptionService } from './subscription-service.js';
import type { WillScheduler } from './wills.js';

/** Something with a connect timeout (a connection before CONNACK). */
export interface ConnectTimeoutTarget {
  /** The connect timeout passed (called for every connection; only a waiting one closes). */
  connectTimedOut(): void;
}

/** The core's shared parts. */
export interface CoreServices {
  readonly options: CoreOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: CoreMetrics;
  readonly hooks: HookChain;
  /** Counts and logs every limit refusal (throttled). */
  readonly refusals: RefusalLog;
  /** The memory budget and its session/subscription gate. */
  readonly budget: BudgetAdmission;
  /** The store, when the broker persists its state. */
  readonly persistence: Persistence | undefined;
  readonly retained: RetainedMessages;
  readonly router: Router;
  readonly wills: WillScheduler;
  readonly registry: SessionRegistry;
  readonly pipeline: MessagePipeline;
  readonly subscriptions: SubscriptionService;
  readonly messageIds: MessageIds;
  /** The connect timeout of every new connection, behind one timer. */
  readonly connectDeadlines: ConnectDeadlines<ConnectTimeoutTarget>;
  /** The keep-alive checks of every connected client, behind one timer. */
  readonly keepAlives: KeepAliveDeadlines;
  /** Counts (and notifies) a message not delivered to one client. */
  recordDrop(clientId: string, message: Message, reason: DropReason): void;
  /** Registers a session restored from the store (restore.ts). */
  adoptSession(session: Session, expiresAt: number): void;
}

/** The core as retained-delivery.ts uses it (retained messages for a new subscription). */
export type RetainedServices = Pick<
  CoreServices,
  'retained' | 'clock' | 'options' | 'hooks' | 'logger' | 'refusals' | 'recordDrop'
>;

/** What the core hears of a connection's life (BrokerCore, for its own Connection class). */
export interface ConnectionLifecycle<C> {
  /** CONNACK 0x00 was sent and the session attached. */
  connected(conn: C): void;
  /** A connection ended (any way), `wasConnected` when it had got CONNACK 0x00. */
  connectionClosed(conn: C, wasConnected: boolean): void;
}
