/**
 * The one error type that crosses layers: it carries the MQTT 5 reason code that the
 * wire mapping (core/error-mapping) turns into a CONNACK, DISCONNECT or a v3 close.
 */
import { REASON_CODE_NAMES } from './reason-codes.js';

/** A protocol-level failure with its MQTT 5 reason code and, where one applies, the spec statement id. */
export class MqttError extends Error {
  /** MQTT 5 reason code (0x81 malformed, 0x82 protocol error, 0x95 packet too large, ...). */
  readonly reasonCode: number;
  /** Normative statement id such as 'MQTT-3.3.1-4', when the failure maps to one. */
  readonly specId: string | undefined;

  constructor(reasonCode: number, message: string, specId?: string) {
    super(specId ? `${message} [${specId}]` : message);
    this.name = 'MqttError';
    this.reasonCode = reasonCode;
    this.specId = specId;
  }

  /** Name of the reason code, e.g. 'Malformed Packet'. */
  get reasonName(): string {
    return REASON_CODE_NAMES[this.reasonCode] ?? `0x${this.reasonCode.toString(16)}`;
  }
}

/** True when `err` is an MqttError (also across duplicated module instances). */
export function isMqttError(err: unknown): err is MqttError {
  return err instanceof MqttError || (err instanceof Error && err.name === 'MqttError');
}
