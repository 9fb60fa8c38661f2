/** What an operator can do to clients and sessions: disconnect one, delete a session. */
import type { BrokerCore, DisconnectOptions } from '../core/index.js';
import { disconnectClients } from '../core/index.js';
import { ReasonCode } from '../protocol/index.js';
import { endSession, findSession } from './core-view.js';

/** Options of {@link deleteSession}. */
export interface DeleteSessionOptions {
  /**
   * Publish the client's will: the live connection's, or a delayed one still waiting
   * (a session that ends sends it). Default false, as for an administrative disconnect.
   */
  sendWill?: boolean | undefined;
}

/**
 * Disconnects the client with this id: MQTT 5 gets DISCONNECT with `options.reasonCode`
 * (default 0x98 Administrative action), 3.x is closed; no will unless `options.sendWill`. The
 * session stays. False when no client with this id is connected.
 */
export function disconnectClient(
  core: BrokerCore,
  clientId: string,
  options: DisconnectOptions = {},
): boolean {
  return disconnectClients(core, (client) => client.clientId === clientId, options) > 0;
}

/**
 * Deletes the session of `clientId`, connected or not: a connected client is disconnected
 * first (MQTT 5: DISCONNECT 0x98), then its subscriptions, queued and inflight messages and
 * stored state go, so its next connection finds no session (Session Present 0). False when
 * there was no session.
 */
export function deleteSession(
  core: BrokerCore,
  clientId: string,
  options: DeleteSessionOptions = {},
): boolean {
  if (findSession(core, clientId) === undefined) return false;
  const sendWill = options.sendWill === true;
  disconnectClient(core, clientId, {
    reasonCode: ReasonCode.AdministrativeAction,
    reason: 'session deleted by the operator',
    sendWill,
  });
  // Looked up again: a session that ends with its connection (expiry 0) is gone already.
  const session = findSession(core, clientId);
  if (session !== undefined) endSession(core, session, sendWill);
  return true;
}
