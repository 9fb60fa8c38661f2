/**
 * Encoding an outgoing PUBLISH within the server's limit.
 */
import { encode } from '../protocol/encoder.js';
import { MqttError } from '../protocol/errors.js';
import type { ProtocolVersion, PublishPacket } from '../protocol/packets.js';

/**
 * Encodes `packet`, refusing one larger than the server's Maximum Packet Size (`limit`,
 * from its MQTT 5 CONNACK): the server would close the connection for it [MQTT-3.2.2-15].
 * @throws MqttError 0x95 Packet too large, naming both sizes.
 */
export function encodePublish(
  packet: PublishPacket,
  version: ProtocolVersion,
  limit: number | undefined,
): Buffer {
  const bytes = encode(packet, version);
  if (limit !== undefined && bytes.length > limit) {
    throw new MqttError(
      0x95,
      `message too large: the PUBLISH packet would be ${bytes.length} bytes and the server accepts at most ${limit} (its Maximum Packet Size)`,
      'MQTT-3.2.2-15',
    );
  }
  return bytes;
}
