/**
 * DISCONNECT from a connected client: a new Session Expiry Interval (never raised from 0: a
 * Protocol Error by MQTT 5 3.14.2.2.2, a sentence without a statement id), and the will's fate
 * [MQTT-3.14.4-3].
 */
import type { DisconnectPacket } from '../protocol/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { ClientContext } from './handler-context.js';

/** Handles DISCONNECT: the connection ends gracefully. */
export function handleDisconnect(conn: ClientContext, packet: DisconnectPacket): void {
  const expiry = packet.properties?.sessionExpiryInterval;
  if (conn.version === 5 && expiry !== undefined) {
    if (conn.sessionExpiryAtConnect === 0 && expiry !== 0) {
      throw new MqttError(
        ReasonCode.ProtocolError,
        // MQTT 5 3.14.2.2.2 says so without a statement id ([MQTT-3.14.2-2] is the server
        // never sending the interval in its own DISCONNECT).
        'session expiry raised from 0 at DISCONNECT',
      );
    }
    conn.session!.expiryInterval = Math.min(expiry, conn.core.options.maxSessionExpiry);
  }
  const reasonCode = packet.reasonCode ?? 0;
  // [MQTT-3.14.4-3] a normal DISCONNECT discards the will; 0x04 asks for it to be sent.
  if (reasonCode !== ReasonCode.DisconnectWithWillMessage) conn.discardWill();
  conn.finish({ graceful: true, reasonCode, reason: 'client disconnected' });
}
