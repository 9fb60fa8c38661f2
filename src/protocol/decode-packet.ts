/**
 * Dispatches one complete packet body to its family's decoder.
 */
import { decodeAuth, decodeDisconnect, decodePing, decodePubAck } from './ack.js';
import { decodeConnack, decodeConnect } from './connect.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { decodePublish } from './publish.js';
import type { Reader } from './reader.js';
import { decodeSuback, decodeSubscribe, decodeUnsuback, decodeUnsubscribe } from './subscribe.js';

/**
 * Decodes the body in `r` of a packet whose first byte is `first` (already checked by
 * checkFirstByte). `version` is undefined only for the CONNECT that establishes it.
 */
export function decodePacket(
  r: Reader,
  first: number,
  version: ProtocolVersion | undefined,
): Packet {
  const type = first >> 4;
  if (type === 3) return decodePublish(r, first & 0x0f, version as ProtocolVersion);
  if (type === 1) return decodeConnect(r, first);
  const v = version as ProtocolVersion;
  switch (type) {
    case 2:
      return decodeConnack(r, v);
    case 4:
    case 5:
    case 6:
    case 7:
      return decodePubAck(r, type, v);
    case 8:
      return decodeSubscribe(r, v);
    case 9:
      return decodeSuback(r, v);
    case 10:
      return decodeUnsubscribe(r, v);
    case 11:
      return decodeUnsuback(r, v);
    case 12:
    case 13:
      return decodePing(r, type);
    case 14:
      return decodeDisconnect(r, v);
    default:
      return decodeAuth(r);
  }
}
