/**
 * The constants of the forwarded batch's binary layout (described in envelope.ts), shared by
 * the encoder (batch-builder.ts) and the decoder (envelope.ts).
 */

/** The first byte of a batch in this format. */
export const FORMAT = 0x01;
/** Message flags: bits 0-1 are the QoS. */
export const RETAIN = 0x04;
export const HAS_PROPERTIES = 0x08;
export const HAS_EXPIRY = 0x10;
export const HAS_ORIGIN = 0x20;
export const HAS_GROUPS = 0x40;
/** Bytes before the first message: format, count, length of the properties section. */
export const HEADER = 9;
/** Fixed bytes of a message: flags, id, topic length, payload length. */
export const FIXED = 1 + 8 + 2 + 4;
