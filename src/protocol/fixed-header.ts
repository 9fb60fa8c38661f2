/**
 * First-byte rules (spec 2.1.3 / 3.1.1 2.2.2): packet type, reserved flag bits and the
 * PUBLISH flags. Checked as soon as the byte arrives, before any of the body is buffered.
 *
 * MQTT 3.1 (level 3) had no reserved bits: its fixed header carries DUP, QoS and RETAIN on
 * every packet, marked "not used" where they mean nothing, and a client retrying a PUBREL,
 * SUBSCRIBE or UNSUBSCRIBE sets DUP. So on a 3.1 connection only the PUBLISH rules apply.
 * The CONNECT that opens a connection is checked once its protocol level is known
 * (decodeConnect), since the level is in its body.
 */
import type { ProtocolVersion } from './packets.js';
import { malformed, protocolError } from './wire-errors.js';

/** Throws unless `first` may start a packet on a connection at `version`. */
export function checkFirstByte(first: number, version: ProtocolVersion | undefined): void {
  const type = first >> 4;
  const flags = first & 0x0f;
  if (version === undefined) {
    if (type !== 1) throw protocolError('the first packet must be CONNECT', 'MQTT-3.1.0-1');
    return; // its flags depend on the level in its body: see checkConnectHeaderFlags
  }
  const reservedId = version === 5 ? 'MQTT-2.1.3-1' : 'MQTT-2.2.2-1';
  switch (type) {
    case 0:
      throw malformed('reserved packet type 0');
    case 3: {
      const qos = (flags >> 1) & 3;
      if (qos === 3) throw malformed('PUBLISH with QoS 3', 'MQTT-3.3.1-4');
      if (qos === 0 && flags & 0x08) throw malformed('DUP set on a QoS 0 PUBLISH', 'MQTT-3.3.1-2');
      return;
    }
    case 6:
      if (version === 3) return; // 3.1: QoS 1, DUP set on a retry
      if (flags !== 2) throw malformed('PUBREL flags must be 0010', 'MQTT-3.6.1-1');
      return;
    case 8:
      if (version === 3) return;
      if (flags !== 2) throw malformed('SUBSCRIBE flags must be 0010', 'MQTT-3.8.1-1');
      return;
    case 10:
      if (version === 3) return;
      if (flags !== 2) throw malformed('UNSUBSCRIBE flags must be 0010', 'MQTT-3.10.1-1');
      return;
    case 15:
      if (version !== undefined && version !== 5) throw malformed('AUTH exists only in MQTT 5');
      if (flags !== 0) throw malformed('reserved flags set on AUTH', reservedId);
      return;
    default:
      // 3.1 marks these bits "not used": ignored, not errors.
      if (flags !== 0 && version !== 3) {
        throw malformed(`reserved flags set on packet type ${type}`, reservedId);
      }
  }
}

/**
 * The fixed header flags of the CONNECT that opens a connection, checked once its level is
 * read: reserved in 3.1.1 [MQTT-2.2.2-1] and 5.0 [MQTT-2.1.3-1], unused in 3.1.
 */
export function checkConnectHeaderFlags(first: number, version: ProtocolVersion): void {
  if ((first & 0x0f) === 0 || version === 3) return;
  throw malformed('reserved flags set on CONNECT', version === 5 ? 'MQTT-2.1.3-1' : 'MQTT-2.2.2-1');
}
