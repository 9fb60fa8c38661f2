/**
 * Memory for payloads that outlive their packet (retained messages, queued deliveries).
 *
 * Why not `Buffer.from(payload)`: below 4 KiB it copies into Node's shared 8 KiB pool, where
 * short-lived buffers (log lines, encodings) sit next to it, so one surviving payload keeps a
 * whole 8 KiB block alive (a 380 B retained payload cost ~5.7 KB of RSS). Why not a buffer of
 * its own for every payload: each ArrayBuffer costs ~200-300 B of bookkeeping and a malloc,
 * which made 1 KiB copies 3-4x slower than the pool's.
 *
 * So long-lived payloads get slabs of their own, sized for them: a payload of up to 4 KiB
 * goes into the slab of its size class (the next power of two, at least 64 B), and a class's
 * slab holds 8 payloads of that class (16 of the 64 B class: 1 KiB, so that the ArrayBuffer's
 * own cost is shared by more of the smallest payloads). A survivor then keeps at most 16
 * times its own size alive (1 KiB for payloads under 64 B), whatever else happens; larger
 * payloads get a buffer of exactly their size.
 */

/** Smallest size class (a payload below it is placed as if it were this size). */
const MIN_CLASS = 64;
/** Largest payload placed in a slab; larger ones get a buffer of their own. */
const MAX_SLAB_PAYLOAD = 4096;
/** Payloads of one class a slab holds. */
const SLOTS_PER_SLAB = 8;
/** Smallest slab: 1 KiB, the most a small payload may pin (see {@link ownsItsMemory}). */
const MIN_SLAB = 1024;
/**
 * How much larger than its payload (or than {@link MIN_CLASS}) the memory behind a buffer
 * may be for the buffer to be kept as it is: 16, the worst case of the slabs here.
 */
const MAX_PIN_RATIO = 2 * SLOTS_PER_SLAB;

/** The current slab and its fill position, per size class (index: log2(class) - 6). */
const slabs: (Buffer | undefined)[] = [];
const positions: number[] = [0, 0, 0, 0, 0, 0, 0];
/** What an empty payload becomes (no memory behind it). */
const EMPTY = Buffer.alloc(0);

/**
 * True when `payload` holds its own bytes plus a bounded overhead: the memory behind it is
 * at most 16 times its size (or 1 KiB for a small payload). Such a payload is not copied
 * again (a payload of its own, a slab payload from here, a large decoded payload).
 */
export function ownsItsMemory(payload: Buffer): boolean {
  const length = payload.byteLength;
  return payload.buffer.byteLength <= MAX_PIN_RATIO * Math.max(length, MIN_CLASS);
}

/** A copy of `payload` in memory sized for it (see the file comment). */
export function copyToOwnMemory(payload: Buffer): Buffer {
  const length = payload.byteLength;
  if (length > MAX_SLAB_PAYLOAD) {
    const own = Buffer.allocUnsafeSlow(length);
    payload.copy(own, 0, 0, length);
    return own;
  }
  if (length === 0) return EMPTY;
  // log2 of the size class: 6 (64 B) up to 12 (4 KiB).
  const bits = length <= MIN_CLASS ? 6 : 32 - Math.clz32(length - 1);
  const index = bits - 6;
  let slab = slabs[index];
  let position = positions[index]!;
  // Every slot of a slab is aligned to 8 bytes, as Node's pool does.
  if (slab === undefined || position + length > slab.byteLength) {
    slab = Buffer.allocUnsafeSlow(Math.max((1 << bits) * SLOTS_PER_SLAB, MIN_SLAB));
    slabs[index] = slab;
    position = 0;
  }
  positions[index] = (position + length + 7) & ~7;
  const copy = slab.subarray(position, position + length);
  payload.copy(copy, 0, 0, length);
  return copy;
}
