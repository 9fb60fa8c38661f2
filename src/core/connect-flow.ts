/**
 * CONNECT handling: client identifier rules, keep alive, MQTT 5 limits, authentication
 * (plain and enhanced), then the session and CONNACK.
 */
import type { ConnackPacket, ConnectPacket, Properties } from '../protocol/index.js';
import { encode, MqttError, ReasonCode } from '../protocol/index.js';
import { authenticate } from './auth-flow.js';
import type { Connection } from './connection.js';
import { refuseTopic } from './limits.js';

/** Handles the first CONNECT of a connection. */
export function handleConnect(conn: Connection, packet: ConnectPacket): void | Promise<void> {
  const options = conn.broker.options;
  conn.version = packet.protocolVersion;
  conn.state = 'authenticating';
  if (packet.properties?.authenticationData && !packet.properties.authenticationMethod) {
    // MQTT 5 section 3.1.2.11.10: Authentication Data without a method is a Protocol Error.
    throw new MqttError(ReasonCode.ProtocolError, 'authentication data without a method');
  }
  let clientId = packet.clientId;
  let assigned = false;
  if (clientId === '') {
    if (packet.protocolVersion === 5) {
      assigned = true; // [MQTT-3.1.3-6] the server assigns a unique identifier.
    } else if (packet.protocolVersion === 4 && packet.clean) {
      assigned = true; // [MQTT-3.1.3-6] allowed with Clean Session = 1 ...
    } else {
      // [MQTT-3.1.3-8] ... and rejected with 0x02 when Clean Session = 0 (and always in 3.1).
      throw new MqttError(
        ReasonCode.ClientIdentifierNotValid,
        'empty client id needs clean session',
        'MQTT-3.1.3-8',
      );
    }
    if (assigned) clientId = conn.broker.assignClientId();
  }
  if (packet.will) {
    if (packet.will.qos > options.maximumQoS) {
      throw new MqttError(ReasonCode.QoSNotSupported, 'will QoS above maximum', 'MQTT-3.2.2-12');
    }
    if (packet.will.retain && !options.retainAvailable) {
      throw new MqttError(
        ReasonCode.RetainNotSupported,
        'retained will not supported',
        'MQTT-3.2.2-13',
      );
    }
    const tooBig = refuseTopic(conn.broker.refusals, options, packet.will.topic, {
      clientId,
      what: 'will',
    });
    // CONNACK 0x90 Topic Name invalid (v3: the mapping's 0x03 Server unavailable).
    if (tooBig) throw new MqttError(ReasonCode.TopicNameInvalid, `will topic ${tooBig}`);
  }
  let serverKeepAlive: number | undefined;
  conn.keepAlive = packet.keepAlive;
  if (
    options.maxKeepAlive > 0 &&
    (packet.keepAlive > options.maxKeepAlive || packet.keepAlive === 0)
  ) {
    if (packet.protocolVersion === 5) {
      serverKeepAlive = options.maxKeepAlive; // [MQTT-3.2.2-21] the client must use ours.
      conn.keepAlive = serverKeepAlive;
    } else {
      // MQTT 3.x cannot be told a different keep alive: refuse, as Mosquitto does.
      throw new MqttError(
        ReasonCode.ClientIdentifierNotValid,
        `keep alive above the maximum ${options.maxKeepAlive}`,
      );
    }
  }
  applyPeerLimits(conn, packet);
  conn.will = packet.will;
  conn.pendingConnect = packet;
  conn.client = {
    ...conn.client,
    clientId,
    username: packet.username,
    usernameVerified: false, // until an authenticate hook accepts it
    protocolVersion: packet.protocolVersion,
  };
  if (conn.info.identityAsUsername && conn.info.certificateIdentity) {
    conn.client = { ...conn.client, username: conn.info.certificateIdentity };
  }
  const context: ConnectContext = { assigned, serverKeepAlive };
  const redirect = options.serverRedirect;
  if (redirect) {
    // [MQTT-4.11] server redirection asked by the configuration.
    conn.redirectReference = redirect.serverReference;
    const code = redirect.permanent ? ReasonCode.ServerMoved : ReasonCode.UseAnotherServer;
    throw new MqttError(code, `redirected to ${redirect.serverReference}`);
  }
  return authenticate(conn, packet, context);
}

/** What the connect flow carries across an authentication exchange. */
export interface ConnectContext {
  assigned: boolean;
  serverKeepAlive: number | undefined;
  authenticationData?: Buffer | undefined;
}

function applyPeerLimits(conn: Connection, packet: ConnectPacket): void {
  const options = conn.broker.options;
  const props = packet.properties;
  // MQTT 3.x: Clean Session 0 keeps the session for `v3SessionExpiry` (capped by
  // maxSessionExpiry in completeConnect), as Mosquitto's persistent_client_expiration.
  const v3Expiry = packet.clean ? 0 : options.v3SessionExpiry;
  conn.connectSessionExpiry = conn.version === 5 ? (props?.sessionExpiryInterval ?? 0) : v3Expiry;
  if (conn.version !== 5 || !props) {
    conn.sendWindow = options.maxInflight;
    return;
  }
  conn.peer = {
    receiveMaximum: props.receiveMaximum ?? 65535,
    maximumPacketSize: props.maximumPacketSize ?? 268435460,
    topicAliasMaximum: props.topicAliasMaximum ?? 0,
    requestProblemInformation: props.requestProblemInformation !== 0,
  };
  // [MQTT-3.3.4-9] never more unacknowledged QoS 1/2 PUBLISH than the client's Receive Maximum.
  conn.sendWindow = Math.min(conn.peer.receiveMaximum, options.maxInflight);
}

/** Authentication succeeded: take over or create the session and send CONNACK 0x00. */
export function completeConnect(conn: Connection, context: ConnectContext): void {
  const packet = conn.pendingConnect!;
  conn.pendingConnect = undefined;
  const broker = conn.broker;
  const requestedExpiry = conn.connectSessionExpiry;
  const expiry = Math.min(requestedExpiry, broker.options.maxSessionExpiry);
  conn.connectSessionExpiry = expiry;
  const connack: ConnackPacket = { type: 'connack', sessionPresent: false, reasonCode: 0 };
  if (conn.version === 5) {
    connack.properties = connackProperties(conn, packet, context, expiry !== requestedExpiry);
    checkConnackFits(conn, connack);
  }
  const { session, present } = broker.openSession(conn, packet.clean, expiry);
  connack.sessionPresent = present;
  // [MQTT-3.2.0-1] CONNACK is the first packet the server sends.
  conn.send(connack);
  conn.markConnected();
  session.attach(conn);
  broker.connected(conn);
}

/** The properties of a v5 CONNACK 0x00. */
function connackProperties(
  conn: Connection,
  packet: ConnectPacket,
  context: ConnectContext,
  expiryLowered: boolean,
): Properties {
  const options = conn.broker.options;
  const p: Properties = {};
  // The server's value when it differs (MQTT 5 section 3.2.2.3.2).
  if (expiryLowered) p.sessionExpiryInterval = conn.connectSessionExpiry;
  if (options.receiveMaximum !== 65535) p.receiveMaximum = options.receiveMaximum;
  if (options.maximumQoS < 2) p.maximumQoS = options.maximumQoS;
  if (!options.retainAvailable) p.retainAvailable = 0;
  p.maximumPacketSize = options.maximumPacketSize;
  if (context.assigned) p.assignedClientIdentifier = conn.client.clientId; // [MQTT-3.2.2-16]
  if (options.topicAliasMaximum > 0) p.topicAliasMaximum = options.topicAliasMaximum;
  if (context.serverKeepAlive !== undefined) p.serverKeepAlive = context.serverKeepAlive;
  if (packet.properties?.requestResponseInformation === 1 && options.responseInformation) {
    p.responseInformation = options.responseInformation(conn.client.clientId);
  }
  if (conn.authMethod !== undefined) {
    p.authenticationMethod = conn.authMethod;
    if (context.authenticationData) p.authenticationData = context.authenticationData;
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
function checkConnackFits(conn: Connection, connack: ConnackPacket): void {
  const size = encode(connack, 5).length;
  const limit = conn.peer.maximumPacketSize;
  if (size <= limit) return;
  throw new MqttError(
    ReasonCode.PacketTooLarge,
    `a CONNACK of ${size} bytes exceeds the client's Maximum Packet Size ${limit}`,
    'MQTT-3.1.2-24',
  );
}
