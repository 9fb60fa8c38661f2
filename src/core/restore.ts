/**
 * Restoring the broker from its store at start: sessions with their subscriptions, inflight
 * messages, inbound QoS 2 ids and stored queues; retained messages; wills. Deadlines are
 * absolute, so session expiry, message expiry and will delay keep counting across a restart.
 * Also one session at a time (`loadStoredSession`), for a client whose session the store
 * holds and the core does not.
 *
 * Within the memory budget: a store can hold more than the budget allows (written by an older
 * version, or under a larger budget). Sessions are restored while the budget's durable share
 * has room for them, then retained messages while their limits and the budget have room; what
 * does not fit is deleted from the store and the log says how much, so the broker starts and
 * serves instead of running out of memory on every start.
 */
import type {
  LoadedState,
  RetainedLoad,
  StoredMessage,
  StoredSession,
  StoredWill,
} from '../ports/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { CoreServices } from './core-services.js';
import type { ClientInfo } from './hooks.js';
import { MemoryBudget } from './memory-budget.js';
import { restoreMessage } from './message.js';
import type { Persistence } from './persistence.js';
import { fromStoredDelivery } from './persistence.js';
import { restoreRetained } from './retained-restore.js';
import type { SessionEnvironment } from './session.js';
import { Session } from './session.js';
import { subscriptionFromStored } from './subscription.js';
import { asWillVerdict } from './will-verdict.js';

/** What restoring needs of the broker (BrokerCore provides it, as CoreServices). */
export type RestoreTarget = Pick<
  CoreServices,
  | 'clock'
  | 'logger'
  | 'options'
  | 'metrics'
  | 'retained'
  | 'wills'
  | 'budget'
  | 'registry'
  | 'messageIds'
  | 'adoptSession'
>;

/** What did not fit the budget at start. */
interface Dropped {
  sessions: number;
  subscriptions: number;
  queued: number;
}

/** Rebuilds the core's state from what the store loaded, then streams the retained messages. */
export async function restoreState(
  core: RestoreTarget,
  persistence: Persistence,
  state: LoadedState,
  env: SessionEnvironment,
  heldElsewhere?: (clientId: string) => boolean,
): Promise<void> {
  core.messageIds.continueAfter(state.lastMessageId);
  const now = core.clock.now();
  let sessions = 0;
  const dropped: Dropped = { sessions: 0, subscriptions: 0, queued: 0 };
  for (const stored of state.sessions) {
    if (heldElsewhere?.(stored.clientId)) continue; // another node's (a shared store)
    if (!fitsBudget(core, stored)) {
      persistence.deleteSession(stored.clientId);
      dropped.sessions++;
      dropped.subscriptions += stored.subscriptions.length;
      dropped.queued += stored.queuedCount;
    } else if (restoreSession(core, persistence, state.messages, env, stored, now)) {
      sessions++;
    }
  }
  const retained = await restoreRetained(persistence.store, now, (message) =>
    core.retained.restore(message),
  );
  reportOverBudget(core, dropped, retained);
  let wills = 0;
  for (const [clientId, stored] of state.wills) {
    if (heldElsewhere?.(clientId)) continue;
    // Already waiting here: a cluster node took it over from Redis when it joined.
    if (core.wills.has(clientId)) continue;
    // A will whose client was connected at the crash lost its connection then: due now.
    restoreStoredWill(core, clientId, stored, now);
    wills++;
  }
  core.logger.info(
    {
      sessions,
      retained: core.retained.size,
      expiredRetained: retained.expired,
      wills,
      store: persistence.store.kind,
      memory: core.metrics.memory,
    },
    'restored state from the store',
  );
}

/** True when a stored session with its subscriptions fits the budget's durable share. */
function fitsBudget(core: RestoreTarget, stored: StoredSession): boolean {
  let cost = MemoryBudget.sessionCost(stored.clientId);
  for (const sub of stored.subscriptions) cost += MemoryBudget.subscriptionCost(sub.filter);
  return core.budget.budget.fits(cost, true);
}

/** Says what did not fit at start (a warning: it was deleted from the store). */
function reportOverBudget(core: RestoreTarget, dropped: Dropped, retained: RetainedLoad): void {
  const options = core.options;
  const usage = core.metrics.memory;
  if (dropped.sessions > 0 || retained.dropped > 0) {
    core.logger.warn(
      {
        droppedSessions: dropped.sessions,
        droppedSubscriptions: dropped.subscriptions,
        droppedQueuedMessages: dropped.queued,
        droppedRetained: retained.dropped,
        memoryBudget: options.memoryBudget,
        maxRetainedMessages: options.maxRetainedMessages,
        maxRetainedBytes: options.maxRetainedBytes,
      },
      'the store held more than the memory budget and retained limits allow: what did not fit was deleted',
    );
  }
  if (usage.queuedMessages > options.maxQueuedMessagesTotal) {
    core.logger.warn(
      {
        queuedMessages: usage.queuedMessages,
        maxQueuedMessagesTotal: options.maxQueuedMessagesTotal,
      },
      'stored queues hold more than maxQueuedMessagesTotal: they are kept, and new messages for queues are dropped until they drain',
    );
  }
}

/**
 * Reads one client's session from the store and adopts it (subscriptions routed, stored queue
 * attached, inflight entries resent on attach), for a client that connects while its session
 * is not in memory: one another node wrote, in a cluster. Undefined when the store holds no
 * live session for it (an expired one is deleted). A session that does not fit the memory
 * budget is refused as a new one would be: CONNACK 0x97 (v3: 0x03).
 */
export async function loadStoredSession(
  core: RestoreTarget,
  persistence: Persistence,
  env: SessionEnvironment,
  clientId: string,
): Promise<Session | undefined> {
  const loaded = await persistence.loadSession(clientId);
  // Another caller may have put a session in place while the store was read.
  const current = core.registry.sessions.get(clientId);
  if (current !== undefined || loaded === undefined) return current;
  if (!fitsBudget(core, loaded.session)) {
    throw new MqttError(
      ReasonCode.QuotaExceeded,
      'memory budget reached: stored session not loaded',
    );
  }
  const { session, messages } = loaded;
  if (!restoreSession(core, persistence, messages, env, session, core.clock.now()))
    return undefined;
  return core.registry.sessions.get(clientId);
}

/** Adopts a stored session unless it has expired (then it is deleted); true when adopted. */
function restoreSession(
  core: RestoreTarget,
  persistence: Persistence,
  messages: Map<number, StoredMessage>,
  env: SessionEnvironment,
  stored: StoredSession,
  now: number,
): boolean {
  // A session connected at the crash is taken as disconnected now.
  const expiresAt =
    stored.expiresAt ??
    (stored.expiryInterval >= 0xffffffff
      ? Number.MAX_SAFE_INTEGER
      : now + stored.expiryInterval * 1000);
  if (stored.expiryInterval === 0 || expiresAt <= now) {
    persistence.deleteSession(stored.clientId);
    return false;
  }
  const session = new Session(stored.clientId, env);
  session.expiryInterval = stored.expiryInterval;
  session.owner = stored.owner;
  for (const sub of stored.subscriptions) {
    session.subscriptions.set(sub.filter, subscriptionFromStored(session, sub));
  }
  for (const inflight of stored.inflight) {
    const storedMessage = messages.get(inflight.delivery.messageId);
    if (!storedMessage) continue;
    const message = restoreMessage(storedMessage);
    session.restoreInflight({
      packetId: inflight.packetId,
      state: inflight.state,
      delivery: fromStoredDelivery(inflight.delivery, message),
    });
  }
  for (const id of stored.inboundQos2) session.inboundQos2.add(id);
  // Attach the stored queue without writing anything back (it is already stored).
  session.adoptStore(persistence, stored.queuedCount, stored.queuedBytes, stored.lastSeq);
  if (stored.expiresAt === undefined && stored.expiryInterval < 0xffffffff) {
    persistence.putSession(stored.clientId, stored.expiryInterval, expiresAt);
  }
  core.adoptSession(session, expiresAt);
  return true;
}

/**
 * Puts back a will read from the store (a restart, or a cluster node adopting a dead node's
 * session): due at its stored time, or at `now` when it has none (its client was connected).
 */
export function restoreStoredWill(
  core: Pick<CoreServices, 'wills'>,
  clientId: string,
  stored: StoredWill,
  now: number,
): void {
  const client: ClientInfo = {
    clientId,
    username: stored.username,
    // Only a verified username is stored with a will (BrokerCore.connected).
    usernameVerified: stored.username !== undefined,
    protocolVersion: 5,
    remoteAddress: undefined,
    listener: stored.listener ?? 'restored',
    certificateIdentity: undefined,
  };
  core.wills.restore(client, stored.will, stored.dueAt ?? now, asWillVerdict(stored.verdict));
}
