/**
 * The protocol layer's public surface: packet types, reason codes, properties, errors,
 * the incremental Decoder, encode(), and topic/UTF-8 validators.
 */

export { encodeSuccessPuback } from './ack.js';
export { Decoder, type DecoderOptions } from './decoder.js';
export { encode } from './encoder.js';
export { isMqttError, MqttError } from './errors.js';
export { MAX_PACKET_SIZE, MAX_REMAINING_LENGTH } from './limits.js';
export * from './packets.js';
export * from './properties.js';
export { publishPacketIdOffset } from './publish.js';
export {
  ConnackReturnCodeV3,
  REASON_CODE_NAMES,
  ReasonCode,
  SUBACK_FAILURE_V3,
  toV3ConnackCode,
} from './reason-codes.js';
export {
  isSharedFilter,
  isValidTopicFilter,
  isValidTopicName,
  validateTopicFilter,
  validateTopicName,
} from './topic-validation.js';
export {
  isValidMqttString,
  isWellFormedUtf8,
  mqttStringProblem,
  utf8Length,
  writeUtf8Bytes,
} from './utf8.js';
