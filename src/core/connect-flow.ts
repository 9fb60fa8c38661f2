/**
 * CONNECT handling: client identifier rules, the will, keep alive and MQTT 5 limits, written
 * to the connection's Handshake; then authentication (auth-flow.ts), and the session and
 * CONNACK (connack-flow.ts).
 */
import type { ConnectPacket } from '../protocol/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import { authenticate } from './auth-flow.js';
import { BRIDGE_CLIENT_ID_PREFIX } from './client-info.js';
import type { HandshakeContext } from './handler-context.js';
import { Handshake } from './handshake.js';
import { refuseTopic } from './limits.js';

/** Handles the first CONNECT of a connection. */
export function handleConnect(conn: HandshakeContext, packet: ConnectPacket): void | Promise<void> {
  const core = conn.core;
  const options = core.options;
  const handshake = new Handshake(packet);
  conn.beginHandshake(handshake, packet.protocolVersion);
  if (packet.properties?.authenticationData && !packet.properties.authenticationMethod) {
    // MQTT 5 section 3.1.2.11.10: Authentication Data without a method is a Protocol Error.
    throw new MqttError(ReasonCode.ProtocolError, 'authentication data without a method');
  }
  let clientId = packet.clientId;
  if (clientId === '') {
    // [MQTT-3.1.3-6] the server assigns a unique identifier: in MQTT 5, and in 3.1.1 with
    // Clean Session = 1 ...
    if (packet.protocolVersion !== 5 && !(packet.protocolVersion === 4 && packet.clean)) {
      // [MQTT-3.1.3-8] ... and rejects it with 0x02 when Clean Session = 0 (and always in 3.1).
      throw new MqttError(
        ReasonCode.ClientIdentifierNotValid,
        'empty client id needs clean session',
        'MQTT-3.1.3-8',
      );
    }
    handshake.assignedClientId = true;
    clientId = core.registry.assignClientId();
  } else if (clientId.startsWith(BRIDGE_CLIENT_ID_PREFIX)) {
    // The broker's bridges own these sessions: a client must not take one over.
    throw new MqttError(
      ReasonCode.ClientIdentifierNotValid,
      `client id '${clientId}' is reserved for bridges (prefix ${BRIDGE_CLIENT_ID_PREFIX})`,
    );
  }
  if (packet.will) checkWill(conn, packet, clientId);
  grantKeepAlive(conn, handshake, packet);
  applyPeerLimits(conn, handshake, packet);
  handshake.will = packet.will;
  conn.identify({
    ...conn.client,
    clientId,
    username:
      conn.identityAsUsername && conn.client.certificateIdentity
        ? conn.client.certificateIdentity
        : packet.username,
    usernameVerified: false, // until an authenticate hook accepts it
    protocolVersion: packet.protocolVersion,
  });
  const redirect = options.serverRedirect;
  if (redirect) {
    // [MQTT-4.11] server redirection asked by the configuration.
    handshake.redirectReference = redirect.serverReference;
    const code = redirect.permanent ? ReasonCode.ServerMoved : ReasonCode.UseAnotherServer;
    throw new MqttError(code, `redirected to ${redirect.serverReference}`);
  }
  return authenticate(conn, handshake);
}

/** The will may be published as asked: its QoS, its retain flag, its topic's size. */
function checkWill(conn: HandshakeContext, packet: ConnectPacket, clientId: string): void {
  const will = packet.will!;
  const options = conn.core.options;
  if (will.qos > options.maximumQoS) {
    throw new MqttError(ReasonCode.QoSNotSupported, 'will QoS above maximum', 'MQTT-3.2.2-12');
  }
  if (will.retain && !options.retainAvailable) {
    throw new MqttError(
      ReasonCode.RetainNotSupported,
      'retained will not supported',
      'MQTT-3.2.2-13',
    );
  }
  const tooBig = refuseTopic(conn.core.refusals, options, will.topic, { clientId, what: 'will' });
  // CONNACK 0x90 Topic Name invalid (v3: the mapping's 0x03 Server unavailable).
  if (tooBig) throw new MqttError(ReasonCode.TopicNameInvalid, `will topic ${tooBig}`);
}

/** The keep alive the client asked for, or `maxKeepAlive` when it asked for more (or none). */
function grantKeepAlive(conn: HandshakeContext, handshake: Handshake, packet: ConnectPacket): void {
  const max = conn.core.options.maxKeepAlive;
  handshake.keepAlive = packet.keepAlive;
  if (max <= 0 || (packet.keepAlive <= max && packet.keepAlive !== 0)) return;
  if (packet.protocolVersion !== 5) {
    // MQTT 3.x cannot be told a different keep alive: refuse, as Mosquitto does.
    throw new MqttError(ReasonCode.ClientIdentifierNotValid, `keep alive above the maximum ${max}`);
  }
  handshake.serverKeepAlive = max; // [MQTT-3.2.2-21] the client must use ours.
  handshake.keepAlive = max;
}

function applyPeerLimits(
  conn: HandshakeContext,
  handshake: Handshake,
  packet: ConnectPacket,
): void {
  const options = conn.core.options;
  const props = packet.properties;
  // MQTT 3.x: Clean Session 0 keeps the session for `v3SessionExpiry` (capped by
  // maxSessionExpiry in completeConnect), as Mosquitto's persistent_client_expiration.
  const v3Expiry = packet.clean ? 0 : options.v3SessionExpiry;
  handshake.sessionExpiry =
    packet.protocolVersion === 5 ? (props?.sessionExpiryInterval ?? 0) : v3Expiry;
  if (packet.protocolVersion !== 5 || !props) {
    conn.limitPeer(conn.peer, options.maxInflight);
    return;
  }
  const receiveMaximum = props.receiveMaximum ?? 65535;
  conn.limitPeer(
    {
      receiveMaximum,
      maximumPacketSize: props.maximumPacketSize ?? 268435460,
      topicAliasMaximum: props.topicAliasMaximum ?? 0,
      requestProblemInformation: props.requestProblemInformation !== 0,
    },
    // [MQTT-3.3.4-9] never more unacknowledged QoS 1/2 PUBLISH than the client's Receive Maximum.
    Math.min(receiveMaximum, options.maxInflight),
  );
}
