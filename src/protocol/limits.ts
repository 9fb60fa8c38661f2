/** Largest Remaining Length a 4-byte Variable Byte Integer can carry. */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** Largest whole packet: 1 byte of type/flags, 4 of remaining length, and the rest. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_REMAINING_LENGTH;
