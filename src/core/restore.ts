/**
 * Restoring the broker from its store at start: sessions with their subscriptions, inflight
 * messages, inbound QoS 2 ids and stored queues; retained messages; wills. Deadlines are
 * absolute, so session expiry, message expiry and will delay keep counting across a restart.
 */
import type { LoadedState, StoredSession } from '../ports/index.js';
import { parseSharedFilter } from '../topic/index.js';
import type { BrokerCore } from './broker-core.js';
import type { ClientInfo } from './hooks.js';
import { continueMessageIdsAfter, isExpired, restoreMessage } from './message.js';
import type { Persistence } from './persistence.js';
import { fromStoredDelivery } from './persistence.js';
import type { SessionEnvironment } from './session.js';
import { Session } from './session.js';

/** Rebuilds the core's state from what the store loaded. */
export function restoreState(
  core: BrokerCore,
  persistence: Persistence,
  state: LoadedState,
  env: SessionEnvironment,
): void {
  continueMessageIdsAfter(state.lastMessageId);
  const now = core.clock.now();
  for (const stored of state.retained) {
    const message = restoreMessage(stored);
    if (isExpired(message, now)) persistence.deleteRetained(message.topic);
    else core.retained.restore(message);
  }
  let sessions = 0;
  for (const stored of state.sessions) {
    if (restoreSession(core, persistence, state, env, stored, now)) sessions++;
  }
  let wills = 0;
  for (const [clientId, stored] of state.wills) {
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
    // A will whose client was connected at the crash lost its connection then: due now.
    core.wills.restore(client, stored.will, stored.dueAt ?? now);
    wills++;
  }
  core.logger.info(
    { sessions, retained: core.retained.size, wills, store: persistence.store.kind },
    'restored state from the store',
  );
}

function restoreSession(
  core: BrokerCore,
  persistence: Persistence,
  state: LoadedState,
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
    session.subscriptions.set(sub.filter, {
      session,
      filter: sub.filter,
      qos: sub.qos,
      noLocal: sub.noLocal,
      retainAsPublished: sub.retainAsPublished,
      retainHandling: sub.retainHandling,
      subscriptionId: sub.subscriptionId,
      shareGroup: parseSharedFilter(sub.filter)?.group,
    });
  }
  for (const inflight of stored.inflight) {
    const storedMessage = state.messages.get(inflight.delivery.messageId);
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
  session.adoptStore(persistence, stored.queuedCount, stored.queuedBytes);
  if (stored.expiresAt === undefined && stored.expiryInterval < 0xffffffff) {
    persistence.putSession(stored.clientId, stored.expiryInterval, expiresAt);
  }
  core.adoptSession(session, expiresAt);
  return true;
}
