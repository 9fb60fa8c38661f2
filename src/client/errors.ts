/**
 * Errors the client reports for answers of the server. Both are MqttErrors whose
 * `reasonCode` is the code on the wire, so callers (the CLI's exit status, a bridge's retry
 * policy) can branch on it.
 */
import { MqttError } from '../protocol/errors.js';
import type { ProtocolVersion } from '../protocol/packets.js';
import { describeConnackCode, describeWithReasonString } from './reason-names.js';

/**
 * The server refused the connection in its CONNACK. `reasonCode` is the CONNACK code as
 * sent: an MQTT 3.x return code (1-5) for versions 3 and 4, an MQTT 5 reason code (>= 0x80)
 * for version 5.
 */
export class ConnectRefusedError extends MqttError {
  readonly protocolVersion: ProtocolVersion;

  constructor(code: number, protocolVersion: ProtocolVersion, reasonString?: string) {
    const name = describeConnackCode(code, protocolVersion);
    super(code, `connection refused: ${name}${reasonString ? `: ${reasonString}` : ''}`);
    this.name = 'ConnectRefusedError';
    this.protocolVersion = protocolVersion;
  }

  /** The code's name in the protocol version of the connection. */
  override get reasonName(): string {
    return describeConnackCode(this.reasonCode, this.protocolVersion);
  }
}

/** The server closed the connection with an MQTT 5 DISCONNECT carrying `reasonCode`. */
export class ServerDisconnectError extends MqttError {
  constructor(code: number, reasonString?: string) {
    super(code, `server sent DISCONNECT: ${describeWithReasonString(code, reasonString)}`);
    this.name = 'ServerDisconnectError';
  }
}
