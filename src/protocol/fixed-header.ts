/**
 * First-byte rules (spec 2.1.3 / 3.1.1 2.2.2): packet type, reserved flag bits and the
 * PUBLISH flags. Checked as soon as the byte arrives, before any of the body is buffered.
 */
import type { ProtocolVersion } from './packets.js';
import { malformed, protocolError } from './wire-errors.js';

/** Throws unless `first` may start a packet on a connection at `version`. */
export function checkFirstByte(first: number, version: ProtocolVersion | undefined): void {
  const type = first >> 4;
  const flags = first & 0x0f;
  if (version === undefined) {
    if (type !== 1) throw protocolError('the first packet must be CONNECT', 'MQTT-3.1.0-1');
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
      if (flags !== 2) throw malformed('PUBREL flags must be 0010', 'MQTT-3.6.1-1');
      return;
    case 8:
      if (flags !== 2) throw malformed('SUBSCRIBE flags must be 0010', 'MQTT-3.8.1-1');
      return;
    case 10:
      if (flags !== 2) throw malformed('UNSUBSCRIBE flags must be 0010', 'MQTT-3.10.1-1');
      return;
    case 15:
      if (version !== undefined && version !== 5) throw malformed('AUTH exists only in MQTT 5');
      if (flags !== 0) throw malformed('reserved flags set on AUTH', reservedId);
      return;
    default:
      if (flags !== 0) throw malformed(`reserved flags set on packet type ${type}`, reservedId);
  }
}
