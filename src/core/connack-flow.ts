/**
 * The end of a successful handshake: the session is claimed (session-registry.ts: taken
 * over, discarded on clean start, resumed or created) and CONNACK 0x00 goes out, the first
 * packet the server sends [MQTT-3.2.0-1].
 */
import type { ConnackPacket, ConnectPacket, Properties } from '../protocol/index.js';
import { encode, MqttError, ReasonCode } from '../protocol/index.js';
import type { HandshakeContext } from './handler-context.js';
import type { Handshake } from './handshake.js';

/**
 * Authentication succeeded: claim the session and send CONNACK 0x00. Returns a promise while
 * the claim waits for a holder elsewhere to let go (reading stays paused meanwhile).
 */
export function completeConnect(conn: HandshakeContext): void | Promise<void> {
  const handshake = conn.handshake!;
  const packet = handshake.connect!;
  handshake.connect = undefined;
  const requestedExpiry = handshake.sessionExpiry;
  const expiry = Math.min(requestedExpiry, conn.core.options.maxSessionExpiry);
  handshake.sessionExpiry = expiry;
  const connack: ConnackPacket = { type: 'connack', sessionPresent: false, reasonCode: 0 };
  if (conn.version === 5) {
    connack.properties = connackProperties(conn, handshake, packet, expiry !== requestedExpiry);
    checkConnackFits(conn, connack);
  }
  return claimAndAccept(conn, connack, packet.clean, expiry);
}

/** Claims the session (again, after a wait) and, once it is ours, sends CONNACK. */
function claimAndAccept(
  conn: HandshakeContext,
  connack: ConnackPacket,
  clean: boolean,
  expiry: number,
): void | Promise<void> {
  const claim = conn.core.registry.claim(conn, clean, expiry);
  if ('then' in claim) {
    return claim.then(() =>
      conn.closed ? undefined : claimAndAccept(conn, connack, clean, expiry),
    );
  }
  connack.sessionPresent = claim.present;
  // [MQTT-3.2.0-1] CONNACK is the first packet the server sends.
  conn.send(connack);
  conn.accept(claim.session);
}

/** The properties of a v5 CONNACK 0x00. */
function connackProperties(
  conn: HandshakeContext,
  handshake: Handshake,
  packet: ConnectPacket,
  expiryLowered: boolean,
): Properties {
  const options = conn.core.options;
  const p: Properties = {};
  // The server's value when it differs (MQTT 5 section 3.2.2.3.2).
  if (expiryLowered) p.sessionExpiryInterval = handshake.sessionExpiry;
  if (options.receiveMaximum !== 65535) p.receiveMaximum = options.receiveMaximum;
  if (options.maximumQoS < 2) p.maximumQoS = options.maximumQoS;
  if (!options.retainAvailable) p.retainAvailable = 0;
  p.maximumPacketSize = options.maximumPacketSize;
  if (handshake.assignedClientId) p.assignedClientIdentifier = conn.client.clientId; // [MQTT-3.2.2-16]
  if (options.topicAliasMaximum > 0) p.topicAliasMaximum = options.topicAliasMaximum;
  if (handshake.serverKeepAlive !== undefined) p.serverKeepAlive = handshake.serverKeepAlive;
  if (packet.properties?.requestResponseInformation === 1 && options.responseInformation) {
    p.responseInformation = options.responseInformation(conn.client.clientId);
  }
  if (handshake.authMethod !== undefined) {
    p.authenticationMethod = handshake.authMethod;
    if (handshake.authenticationData) p.authenticationData = handshake.authenticationData;
  }
  return p;
}

/**
 * [MQTT-3.1.2-24] the server never sends a packet over the client's Maximum Packet Size. A
 * CONNACK 0x00 has no property the server may leave out (Reason String and User Property,
 * [MQTT-3.2.2-19] [MQTT-3.2.2-20], it does not carry), so one that does not fit cannot be
 * sent, and without it there is no connection: refused before the session is touched. The
 * failure CONNACK that follows goes out only if it fits (Connection.send), else the
 * connection just closes.
 */
function checkConnackFits(conn: HandshakeContext, connack: ConnackPacket): void {
  const size = encode(connack, 5).length;
  const limit = conn.peer.maximumPacketSize;
  if (size <= limit) return;
  throw new MqttError(
    ReasonCode.PacketTooLarge,
    `a CONNACK of ${size} bytes exceeds the client's Maximum Packet Size ${limit}`,
    'MQTT-3.1.2-24',
  );
}
