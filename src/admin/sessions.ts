/** Sessions as the read API shows them, connected or not. */
import type { BrokerCore, Session } from '../core/index.js';
import { allSessions, findSession } from './core-view.js';
import { pageOf } from './paging.js';
import type { Page, SessionQuery, SessionSummary } from './types.js';

/** One page of sessions, ordered by client id. */
export function listSessions(core: BrokerCore, query: SessionQuery): Page<SessionSummary> {
  return pageOf(filtered(allSessions(core), query), (s) => s.clientId, sessionSummary, query);
}

/** One session; undefined when the broker holds none for this client id. */
export function sessionDetails(core: BrokerCore, clientId: string): SessionSummary | undefined {
  const session = findSession(core, clientId);
  return session === undefined ? undefined : sessionSummary(session);
}

function sessionSummary(session: Session): SessionSummary {
  const owner = session.owner;
  return {
    clientId: session.clientId,
    connected: session.output !== undefined,
    owner: owner === undefined ? null : { username: owner.username },
    expiryInterval: session.expiryInterval,
    stored: session.persistence !== undefined,
    subscriptions: session.subscriptionCount,
    inflight: session.inflightCount,
    queuedMessages: session.queuedCount,
    queuedBytes: session.queuedBytes,
  };
}

function* filtered(sessions: Iterable<Session>, query: SessionQuery): Iterable<Session> {
  for (const session of sessions) {
    if (query.clientIdPrefix !== undefined && !session.clientId.startsWith(query.clientIdPrefix)) {
      continue;
    }
    if (query.connected !== undefined && (session.output !== undefined) !== query.connected) {
      continue;
    }
    yield session;
  }
}
