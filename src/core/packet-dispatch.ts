/**
 * Which handler takes a packet, by the connection's state: CONNECT first [MQTT-3.1.0-1],
 * only AUTH (or DISCONNECT) while authenticating [MQTT-4.12.0-4], then the packets a
 * connected client sends.
 */
import type { Packet } from '../protocol/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './ack-flow.js';
import { handleAuth } from './auth-flow.js';
import { handleConnect } from './connect-flow.js';
import { handleDisconnect } from './disconnect-flow.js';
import type { ClientContext, HandshakeContext } from './handler-context.js';
import { handlePublish } from './publish-flow.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe-flow.js';

/** A connection as the dispatcher hands it on: each handler takes its own narrower view. */
export type DispatchContext = HandshakeContext & ClientContext;

/** Handles one packet of `conn`: synchronously, or a promise while its step runs. */
export function dispatchPacket(conn: DispatchContext, packet: Packet): void | Promise<void> {
  switch (conn.state) {
    case 'awaiting-connect':
      if (packet.type !== 'connect') {
        throw new MqttError(
          ReasonCode.ProtocolError,
          'first packet must be CONNECT',
          'MQTT-3.1.0-1',
        );
      }
      return handleConnect(conn, packet);
    case 'authenticating':
      if (packet.type === 'auth') return handleAuth(conn, packet);
      if (packet.type === 'disconnect') {
        conn.finish({
          graceful: true,
          reasonCode: packet.reasonCode,
          reason: 'client disconnected',
        });
        return;
      }
      throw new MqttError(
        ReasonCode.ProtocolError,
        `${packet.type} during authentication`,
        'MQTT-4.12.0-4',
      );
    case 'connected':
      return dispatchConnected(conn, packet);
    case 'closed':
      return;
  }
}

function dispatchConnected(conn: DispatchContext, packet: Packet): void | Promise<void> {
  switch (packet.type) {
    case 'publish':
      return handlePublish(conn, packet);
    case 'puback':
      return handlePuback(conn, packet);
    case 'pubrec':
      return handlePubrec(conn, packet);
    case 'pubrel':
      return handlePubrel(conn, packet);
    case 'pubcomp':
      return handlePubcomp(conn, packet);
    case 'subscribe':
      return handleSubscribe(conn, packet);
    case 'unsubscribe':
      return handleUnsubscribe(conn, packet);
    case 'pingreq':
      conn.send({ type: 'pingresp' }); // [MQTT-3.12.4-1]
      return;
    case 'disconnect':
      return handleDisconnect(conn, packet);
    case 'auth':
      return handleAuth(conn, packet);
    case 'connect':
      throw new MqttError(ReasonCode.ProtocolError, 'second CONNECT', 'MQTT-3.1.0-2');
    default:
      throw new MqttError(ReasonCode.ProtocolError, `${packet.type} is not sent by clients`);
  }
}
