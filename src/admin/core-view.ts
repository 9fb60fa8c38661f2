/**
 * The one place where the read and command API touches the engine. Everything else in
 * src/admin works on what these functions return, so that when the engine's inside changes
 * (a session registry, retained messages behind a store port, a cluster) only this file
 * follows it.
 */
import type { BrokerCore, Connection, Message, Session } from '../core/index.js';
import { createMessage } from '../core/index.js';

/** The connections that completed CONNECT (the others have no client id yet). */
export function* connectedClients(core: BrokerCore): Iterable<Connection> {
  for (const conn of core.connections) {
    if (conn.state === 'connected') yield conn;
  }
}

/** The connected client with this client id, if any. */
export function findClient(core: BrokerCore, clientId: string): Connection | undefined {
  for (const conn of connectedClients(core)) {
    if (conn.client.clientId === clientId) return conn;
  }
  return undefined;
}

/** Every session the broker holds, connected or not. */
export function allSessions(core: BrokerCore): Iterable<Session> {
  return core.sessions.values();
}

/** The session of a client id, if there is one. */
export function findSession(core: BrokerCore, clientId: string): Session | undefined {
  return core.sessions.get(clientId);
}

/**
 * Ends a session as its expiry would: subscriptions, queue and stored state go. Its will is
 * dropped first unless `sendWill` (a delayed will is otherwise sent when a session ends).
 * The caller has closed its connection.
 */
export function endSession(core: BrokerCore, session: Session, sendWill: boolean): void {
  if (!sendWill) core.wills.cancel(session.clientId);
  core.registry.end(session);
}

/** Live retained messages matching `filter`; expired ones are removed on the way. */
export function matchRetained(core: BrokerCore, filter: string): Message[] {
  return core.retained.match(filter, core.clock.now());
}

/**
 * Removes the retained message of `topic` (from memory and the store) without publishing
 * anything; false when there was none.
 */
export function clearRetained(core: BrokerCore, topic: string): boolean {
  if (matchRetained(core, topic).length === 0) return false; // a topic name matches only itself
  // An empty retained payload clears the topic [MQTT-3.3.1-10]; set() routes nothing.
  const empty = createMessage(
    core.messageIds.take(),
    { topic, payload: Buffer.alloc(0), qos: 0, retain: true },
    core.clock.now(),
  );
  core.retained.set(empty);
  return true;
}

/** How many connections, sessions, subscriptions and retained messages the broker holds. */
export function sizes(core: BrokerCore): {
  connectionsOpen: number;
  sessions: number;
  subscriptions: number;
  sharedSubscriptions: number;
  retainedMessages: number;
} {
  return {
    connectionsOpen: core.connections.size,
    sessions: core.sessions.size,
    subscriptions: core.router.size,
    sharedSubscriptions: core.router.sharedSize,
    retainedMessages: core.retained.size,
  };
}
