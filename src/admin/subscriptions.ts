/** Subscriptions as the read API shows them, and their listing by client or by filter. */
import type { BrokerCore, Session, Subscription } from '../core/index.js';
import { allSessions, findSession } from './core-view.js';
import { pageOf } from './paging.js';
import type { Page, SubscriptionInfo, SubscriptionQuery } from './types.js';

/** A subscription as plain data. */
export function subscriptionInfo(clientId: string, subscription: Subscription): SubscriptionInfo {
  return {
    clientId,
    filter: subscription.filter,
    qos: subscription.qos,
    noLocal: subscription.noLocal,
    retainAsPublished: subscription.retainAsPublished,
    retainHandling: subscription.retainHandling,
    subscriptionId: subscription.subscriptionId ?? null,
    shareGroup: subscription.shareGroup ?? null,
  };
}

/** A session's subscriptions, by filter. */
export function subscriptionsOf(session: Session): SubscriptionInfo[] {
  const out: SubscriptionInfo[] = [];
  if (session.subscriptionCount === 0) return out;
  for (const subscription of session.subscriptions.values()) {
    out.push(subscriptionInfo(session.clientId, subscription));
  }
  return out.sort((a, b) => (a.filter < b.filter ? -1 : a.filter > b.filter ? 1 : 0));
}

/** One page of subscriptions, ordered by client id then filter. */
export function listSubscriptions(
  core: BrokerCore,
  query: SubscriptionQuery,
): Page<SubscriptionInfo> {
  const sessions =
    query.clientId === undefined ? allSessions(core) : sessionList(core, query.clientId);
  return pageOf(
    matching(sessions, query.filter),
    // U+0000 never occurs in a client id or a filter [MQTT-1.5.4-2]: the key is unambiguous.
    (entry) => `${entry.clientId}\u0000${entry.subscription.filter}`,
    (entry) => subscriptionInfo(entry.clientId, entry.subscription),
    query,
  );
}

function sessionList(core: BrokerCore, clientId: string): Session[] {
  const session = findSession(core, clientId);
  return session === undefined ? [] : [session];
}

function* matching(
  sessions: Iterable<Session>,
  filter: string | undefined,
): Iterable<{ clientId: string; subscription: Subscription }> {
  for (const session of sessions) {
    if (session.subscriptionCount === 0) continue;
    if (filter !== undefined) {
      const subscription = session.subscriptions.get(filter);
      if (subscription !== undefined) yield { clientId: session.clientId, subscription };
      continue;
    }
    for (const subscription of session.subscriptions.values()) {
      yield { clientId: session.clientId, subscription };
    }
  }
}
