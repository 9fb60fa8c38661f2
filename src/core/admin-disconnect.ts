/**
 * Disconnecting clients on the operator's behalf (a user removed from the password file on
 * SIGHUP, or an embedding application's own reasons).
 */
import { ReasonCode } from '../protocol/index.js';
import type { BrokerCore } from './broker-core.js';
import type { ClientInfo } from './hooks.js';

/** Options of {@link disconnectClients}. */
export interface DisconnectOptions {
  /** MQTT 5 DISCONNECT reason code. Default 0x98 Administrative action. */
  reasonCode?: number;
  /** For the log and `onDisconnected`. Default 'administrative action'. */
  reason?: string;
  /**
   * Publish the wills of the clients closed (as for any close the client did not ask for).
   * Default false: a client removed by the operator does not get to publish once more.
   */
  sendWill?: boolean;
}

/**
 * Closes every connection whose client `match`es: MQTT 5 clients get DISCONNECT with the
 * reason code (0x98 Administrative action by default), MQTT 3.x connections are closed.
 * Sessions stay (they belong to their owner and expire as usual). Returns how many
 * connections were closed.
 */
export function disconnectClients(
  core: BrokerCore,
  match: (client: ClientInfo) => boolean,
  options: DisconnectOptions = {},
): number {
  const reasonCode = options.reasonCode ?? ReasonCode.AdministrativeAction;
  const reason = options.reason ?? 'administrative action';
  let closed = 0;
  for (const conn of [...core.connections]) {
    if (conn.closed || !match(conn.client)) continue;
    if (options.sendWill !== true) conn.discardWill();
    core.logger.info({ clientId: conn.client.clientId, reasonCode }, `disconnecting: ${reason}`);
    conn.closeNow(reason, reasonCode);
    closed++;
  }
  return closed;
}
