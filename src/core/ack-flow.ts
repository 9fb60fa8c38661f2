/**
 * The acknowledgements a client sends: PUBACK and PUBCOMP end a delivery, PUBREC moves a QoS 2
 * delivery to PUBREL, and PUBREL releases an inbound QoS 2 id [MQTT-4.3.3-11].
 */
import type { PubackPacket, PubcompPacket, PubrecPacket, PubrelPacket } from '../protocol/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { ClientContext } from './handler-context.js';

/** PUBREL: release the QoS 2 id and answer PUBCOMP [MQTT-4.3.3-11]. */
export function handlePubrel(conn: ClientContext, packet: PubrelPacket): void {
  const mark = conn.core.persistence?.mutations ?? 0;
  const known = conn.session!.releaseInboundQos2(packet.packetId);
  const reasonCode = known || conn.version !== 5 ? undefined : ReasonCode.PacketIdentifierNotFound;
  // The released id must be durable first, or a restart would take a reused id for a resend.
  conn.sendAck({ type: 'pubcomp', packetId: packet.packetId, reasonCode }, mark);
}

/** PUBACK from the client ends a QoS 1 delivery. */
export function handlePuback(conn: ClientContext, packet: PubackPacket): void {
  if (conn.session!.complete(packet.packetId, 'publish')) return;
  refuseAckInAnotherState(conn, 'PUBACK', packet.packetId);
}

/** PUBREC from the client: answer PUBREL (or 0x92 for an unknown id). */
export function handlePubrec(conn: ClientContext, packet: PubrecPacket): void {
  const refused = (packet.reasonCode ?? 0) >= 0x80;
  if (conn.session!.received(packet.packetId, refused)) return;
  refuseAckInAnotherState(conn, 'PUBREC', packet.packetId);
  if (!refused) {
    // MQTT 5 section 4.3.3: a PUBREC for an id not in flight gets PUBREL 0x92.
    const reasonCode = conn.version === 5 ? ReasonCode.PacketIdentifierNotFound : undefined;
    conn.send({ type: 'pubrel', packetId: packet.packetId, reasonCode });
  }
}

/** PUBCOMP from the client ends a QoS 2 delivery. */
export function handlePubcomp(conn: ClientContext, packet: PubcompPacket): void {
  if (conn.session!.complete(packet.packetId, 'pubrel')) return;
  refuseAckInAnotherState(conn, 'PUBCOMP', packet.packetId);
}

/**
 * An acknowledgement the session could not use. For an id with nothing in flight (a late
 * duplicate, a session that ended) it is logged and ignored. For an id that is in flight in
 * another state (a PUBACK or PUBCOMP for a QoS 2 message still waiting for PUBREC, a PUBACK
 * or PUBREC for a QoS 1 message, a PUBCOMP before the PUBREL) the client breaks the QoS
 * flow: a protocol violation, answered with v5 DISCONNECT 0x82 [MQTT-4.13.1-1] or a v3
 * close [MQTT-4.8.0-1]. Answering or ignoring it would leave the message in flight forever.
 */
function refuseAckInAnotherState(
  conn: ClientContext,
  what: 'PUBACK' | 'PUBREC' | 'PUBCOMP',
  packetId: number,
): void {
  const entry = conn.session!.inflight.get(packetId);
  if (entry === undefined) {
    conn.core.logger.debug({ clientId: conn.client.clientId, packetId }, `${what} for unknown id`);
    return;
  }
  const awaited =
    entry.state === 'pubrel' ? 'PUBCOMP' : entry.delivery.qos === 1 ? 'PUBACK' : 'PUBREC';
  throw new MqttError(
    ReasonCode.ProtocolError,
    `${what} for packet id ${packetId}, a QoS ${entry.delivery.qos} message awaiting ${awaited}`,
    conn.version === 5 ? 'MQTT-4.13.1-1' : 'MQTT-4.8.0-1',
  );
}
