/**
 * Turns a delivery into PUBLISH bytes for one connection: its protocol version, topic
 * aliases, remaining message expiry, subscription identifiers and maximum packet size.
 * Identical wire forms within one fan-out are encoded once and shared.
 */
import type { Properties, ProtocolVersion, PublishPacket } from '../protocol/index.js';
import { encode, publishPacketIdOffset } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import type { CoreServices } from './core-services.js';
import type { PeerLimits } from './handshake.js';
import type { Delivery, Message } from './message.js';
import { isExpired, remainingExpirySeconds } from './message.js';
import type { FanoutCache } from './subscriber.js';

/** The connection a delivery is encoded for. */
export interface OutboundTarget {
  readonly core: Pick<CoreServices, 'clock' | 'hooks' | 'recordDrop'>;
  readonly client: ClientInfo;
  readonly version: ProtocolVersion | undefined;
  readonly peer: Readonly<PeerLimits>;
  readonly topicAliasesOut: Map<string, number>;
  readonly topicAliasesOutCount: number;
}

/**
 * Encodes `delivery` for `conn`, or returns undefined (and counts the drop) when it must not
 * be sent: expired before onward delivery started [MQTT-3.3.2-5], dropped by an onDeliver hook,
 * or larger than the client's Maximum Packet Size [MQTT-3.1.2-24].
 */
export function encodeDelivery(
  conn: OutboundTarget,
  delivery: Delivery,
  packetId: number | undefined,
  dup: boolean,
  cache: FanoutCache | undefined,
): Buffer | undefined {
  const core = conn.core;
  let message: Message | null = delivery.message;
  // The clock is read only for a message that expires (or a hook that may make it one):
  // reading it per delivery was the top core cost in the QoS 0 profiles.
  const now =
    message.expiresAt !== undefined || core.hooks.hasDeliverTransform ? core.clock.now() : 0;
  if (!dup && isExpired(message, now)) {
    core.recordDrop(conn.client.clientId, message, 'expired');
    return undefined;
  }
  if (core.hooks.hasDeliverTransform) {
    message = core.hooks.transformDeliver(conn.client, message);
    if (message === null) {
      core.recordDrop(conn.client.clientId, delivery.message, 'hook');
      return undefined;
    }
  }
  const version = conn.version ?? 4;
  const shareable =
    cache !== undefined &&
    message === delivery.message &&
    delivery.subscriptionIds === undefined &&
    conn.peer.topicAliasMaximum === 0;
  const aliasesBefore = conn.topicAliasesOutCount;
  let bytes: Buffer;
  if (shareable) {
    const slot = (version - 3) * 16 + delivery.qos * 4 + (delivery.retain ? 2 : 0) + (dup ? 1 : 0);
    let template = cache.slots[slot];
    if (template === undefined) {
      template = encode(
        buildPacket(conn, message, delivery, packetId ?? 1, dup, now, false),
        version,
      );
      cache.slots[slot] = template;
    }
    if (packetId === undefined) {
      bytes = template; // QoS 0: the same bytes go to every subscriber of this form.
    } else {
      bytes = Buffer.allocUnsafe(template.length);
      template.copy(bytes);
      bytes.writeUInt16BE(packetId, publishPacketIdOffset(template));
    }
  } else {
    bytes = encode(buildPacket(conn, message, delivery, packetId, dup, now, true), version);
  }
  if (bytes.length > conn.peer.maximumPacketSize) {
    // A new alias for a packet never sent must be forgotten, or the next PUBLISH would use an
    // alias the client never learned [MQTT-3.3.2-11].
    if (conn.topicAliasesOutCount > aliasesBefore) conn.topicAliasesOut.delete(message.topic);
    core.recordDrop(conn.client.clientId, message, 'packet-too-large');
    return undefined;
  }
  return bytes;
}

function buildPacket(
  conn: OutboundTarget,
  message: Message,
  delivery: Delivery,
  packetId: number | undefined,
  dup: boolean,
  now: number,
  useAlias: boolean,
): PublishPacket {
  const packet: PublishPacket = {
    type: 'publish',
    topic: message.topic,
    payload: message.payload,
    qos: delivery.qos,
    retain: delivery.retain,
    dup,
    packetId: delivery.qos > 0 ? packetId : undefined,
  };
  if (conn.version !== 5) return packet;
  let properties: Properties | undefined = message.properties;
  const remaining = remainingExpirySeconds(message, now);
  if (remaining !== undefined || delivery.subscriptionIds !== undefined) {
    properties = { ...properties };
    if (remaining !== undefined) properties.messageExpiryInterval = remaining; // [MQTT-3.3.2-6]
    if (delivery.subscriptionIds !== undefined) {
      properties.subscriptionIdentifiers = delivery.subscriptionIds as number[]; // [MQTT-3.3.4-3]
    }
  }
  if (useAlias && conn.peer.topicAliasMaximum > 0) {
    const alias = conn.topicAliasesOut.get(message.topic);
    if (alias !== undefined) {
      packet.topic = ''; // a known alias replaces the topic name (MQTT 5 section 3.3.2.3.4)
      properties = { ...properties, topicAlias: alias };
    } else if (conn.topicAliasesOut.size < conn.peer.topicAliasMaximum) {
      // [MQTT-3.3.2-11] never above the client's Topic Alias Maximum.
      const next = conn.topicAliasesOut.size + 1;
      conn.topicAliasesOut.set(message.topic, next);
      properties = { ...properties, topicAlias: next };
    }
  }
  packet.properties = properties;
  return packet;
}
