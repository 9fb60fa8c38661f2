/**
 * Small constructors for the MqttErrors the codec throws, so every call site names the
 * reason code the MQTT 5 specification assigns (section 4.13) and, where one applies,
 * the normative statement id.
 */
import { MqttError } from './errors.js';
import { ReasonCode } from './reason-codes.js';

/** 0x81: the bytes cannot be parsed according to the specification. */
export function malformed(message: string, specId?: string): MqttError {
  return new MqttError(ReasonCode.MalformedPacket, message, specId);
}

/** 0x82: the packet parsed, but breaks a rule of the protocol. */
export function protocolError(message: string, specId?: string): MqttError {
  return new MqttError(ReasonCode.ProtocolError, message, specId);
}

/** The encoder was handed a packet it cannot put on the wire. */
export function cannotEncode(message: string): MqttError {
  return new MqttError(ReasonCode.MalformedPacket, `cannot encode: ${message}`);
}
