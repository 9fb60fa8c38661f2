/** Connected clients as the read API shows them: the list and one client's details. */
import type { BrokerCore, Connection } from '../core/index.js';
import { connectedClients, findClient } from './core-view.js';
import { pageOf } from './paging.js';
import { subscriptionsOf } from './subscriptions.js';
import type { ClientDetails, ClientQuery, ClientSummary, Page, WillInfo } from './types.js';

/** One page of connected clients, ordered by client id. */
export function listClients(core: BrokerCore, query: ClientQuery): Page<ClientSummary> {
  return pageOf(
    filtered(connectedClients(core), query),
    (conn) => conn.client.clientId,
    clientSummary,
    query,
  );
}

/** A connected client's details; undefined when no client with this id is connected. */
export function clientDetails(core: BrokerCore, clientId: string): ClientDetails | undefined {
  const conn = findClient(core, clientId);
  if (conn === undefined) return undefined;
  const session = conn.session;
  return {
    ...clientSummary(conn),
    certificateIdentity: conn.client.certificateIdentity ?? null,
    subscriptions: session === undefined ? [] : subscriptionsOf(session),
    inflight: session?.inflightCount ?? 0,
    queuedMessages: session?.queuedCount ?? 0,
    queuedBytes: session?.queuedBytes ?? 0,
    retainedBacklog: session?.retainedBacklog ?? 0,
    outputBufferedBytes: conn.sink.bufferedBytes,
    receiveMaximum: conn.peer.receiveMaximum,
    lastActivity: conn.lastActivityAt,
    will: willInfo(conn),
  };
}

function clientSummary(conn: Connection): ClientSummary {
  const client = conn.client;
  return {
    clientId: client.clientId,
    username: client.username ?? null,
    usernameVerified: client.usernameVerified,
    address: client.remoteAddress ?? null,
    listener: client.listener,
    protocolVersion: client.protocolVersion,
    // Set when CONNACK 0x00 went out; only connected clients are listed.
    connectedAt: conn.connectedAt ?? conn.lastActivityAt,
    keepAlive: conn.keepAlive,
    sessionExpiryInterval: conn.session?.expiryInterval ?? 0,
  };
}

function willInfo(conn: Connection): WillInfo | null {
  const will = conn.will;
  if (will === undefined) return null;
  return {
    topic: will.topic,
    qos: will.qos,
    retain: will.retain,
    payloadBytes: will.payload.length,
    delayInterval: will.properties?.willDelayInterval ?? 0,
  };
}

function* filtered(clients: Iterable<Connection>, query: ClientQuery): Iterable<Connection> {
  for (const conn of clients) {
    const client = conn.client;
    if (query.clientIdPrefix !== undefined && !client.clientId.startsWith(query.clientIdPrefix)) {
      continue;
    }
    if (query.username !== undefined && client.username !== query.username) continue;
    if (query.address !== undefined && client.remoteAddress !== query.address) continue;
    if (query.listener !== undefined && client.listener !== query.listener) continue;
    yield conn;
  }
}
