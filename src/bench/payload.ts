/**
 * The bench payload header: who sent a message, its sequence number and when it was sent.
 *
 * Layout (little endian), followed by zero padding up to the payload size:
 *   0  u32  run tag (ignores stray messages from other runs on a shared broker)
 *   4  u32  publisher index
 *   8  u32  sequence number (per publisher, from 0)
 *   12 f64  send time, nanoseconds since the engine's epoch (process.hrtime-based)
 */

/** Bytes of header every bench payload starts with; the smallest payload size allowed. */
export const PAYLOAD_HEADER_SIZE = 20;

const epoch = process.hrtime.bigint();

/** Monotonic nanoseconds since this module loaded, as a double (exact below 2^53 ns, ~104 days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint() - epoch);
}

/** Writes the header into `buf` at `offset` (the start of the payload inside an encoded PUBLISH). */
export function writeHeader(
  buf: Buffer,
  offset: number,
  runTag: number,
  publisher: number,
  seq: number,
  sentNs: number,
): void {
  buf.writeUInt32LE(runTag, offset);
  buf.writeUInt32LE(publisher, offset + 4);
  buf.writeUInt32LE(seq, offset + 8);
  buf.writeDoubleLE(sentNs, offset + 12);
}

/** The decoded header of one received payload. */
export interface PayloadHeader {
  runTag: number;
  publisher: number;
  seq: number;
  sentNs: number;
}

/** Reads the header of a received payload, or undefined when it is too short to be ours. */
export function readHeader(payload: Buffer): PayloadHeader | undefined {
  if (payload.length < PAYLOAD_HEADER_SIZE) return undefined;
  return {
    runTag: payload.readUInt32LE(0),
    publisher: payload.readUInt32LE(4),
    seq: payload.readUInt32LE(8),
    sentNs: payload.readDoubleLE(12),
  };
}
