/**
 * encode(): one packet to one Buffer of exactly the computed length.
 */
import { encodePing, encodePubAck, encodeReasonOnly } from './ack.js';
import { encodeConnack, encodeConnect } from './connect.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { encodePublish } from './publish.js';
import { encodeAckList, encodeSubscribe, encodeUnsubscribe } from './subscribe.js';

/**
 * Encodes `packet` for a connection at `version`, computing the exact length first and
 * writing into one Buffer. Properties and reason codes are written only for version 5.
 * For CONNECT, the protocol name and level come from `version`. Throws MqttError when the
 * packet cannot be put on the wire (missing packet id, string over 65535 bytes, a property
 * not allowed in the packet, AUTH below version 5, ...).
 */
export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, version);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return encodePubAck(packet, version);
    case 'connect':
      return encodeConnect(packet, version);
    case 'connack':
      return encodeConnack(packet, version);
    case 'subscribe':
      return encodeSubscribe(packet, version);
    case 'unsubscribe':
      return encodeUnsubscribe(packet, version);
    case 'suback':
    case 'unsuback':
      return encodeAckList(packet, version);
    case 'pingreq':
    case 'pingresp':
      return encodePing(packet.type);
    default:
      return encodeReasonOnly(packet, version);
  }
}
