/**
 * Memory for payloads that outlive their packet (retained messages, queued deliveries).
 *
 * Why not `Buffer.from(payload)`: below 4 KiB it copies into Node's shared 8 KiB pool, where
 * short-lived buffers (the copies of each QoS 1 delivery, socket writes) sit next to it, so
 * one surviving payload keeps a whole 8 KiB block alive: with ten QoS 1 subscribers, a
 * retained 1 KiB payload cost 9.2 KB of RSS (bench/RESULTS.md "Retained message memory").
 * Why not a buffer of its own for every payload: each ArrayBuffer costs ~200 B of
 * bookkeeping, a malloc and GC work; a slab of 1 KiB for sixteen 64 B payloads already made
 * the copy twice as slow as the pool's, on the QoS 1 path where a busy subscriber's
 * deliveries are queued.
 *
 * So long-lived payloads get slabs of their own, shared with nothing short-lived: a payload
 * of up to 4 KiB goes into the slab of its size class (the next power of two, at least
 * 64 B), which holds 16 payloads of that class and is at least 4 KiB (64 payloads of 64 B).
 * That allocates an ArrayBuffer about as often as Node's pool, and a survivor keeps at most
 * 32 times its own size alive (4 KiB for payloads under 128 B), whatever else happens.
 * Larger payloads get a buffer of exactly their size.
 */

/** Smallest size class (a payload below it is placed as if it were this size). */
const MIN_CLASS = 64;
/** Largest payload placed in a slab; larger ones get a buffer of their own. */
const MAX_SLAB_PAYLOAD = 4096;
/** Payloads of one class a slab holds (more for small classes, see {@link MIN_SLAB}). */
const SLOTS_PER_SLAB = 16;
/** Smallest slab, and so the most a payload under 128 B may pin. */
const MIN_SLAB = 4096;
/**
 * How much larger than its payload the memory behind a buffer may be for the buffer to be
 * kept as it is: 32 (a payload fills more than half of its class's slot), or {@link MIN_SLAB}
 * for a payload under 128 B. A decoded payload of 4 KiB in the codec's 64 KiB slab passes.
 */
const MAX_PIN_RATIO = 2 * SLOTS_PER_SLAB;
const SMALL_PAYLOAD = MIN_SLAB / MAX_PIN_RATIO;

/** The current slab and its fill position, per size class (index: log2(class) - 6). */
const slabs: (Buffer | undefined)[] = [];
const positions: number[] = [0, 0, 0, 0, 0, 0, 0];
/** What an empty payload becomes (no memory behind it). */
const EMPTY = Buffer.alloc(0);

/**
 * True when `payload` holds its own bytes plus a bounded overhead: the memory behind it is
 * at most 32 times its size (or 4 KiB for a payload under 128 B). Such a payload is not
 * copied again (a payload of its own, a slab payload from here, a large decoded payload).
 */
export function ownsItsMemory(payload: Buffer): boolean {
  const length = payload.byteLength;
  return payload.buffer.byteLength <= MAX_PIN_RATIO * Math.max(length, SMALL_PAYLOAD);
}

/** A copy of `payload` in memory sized for it (see the file comment). */
export function copyToOwnMemory(payload: Buffer): Buffer {
  const length = payload.byteLength;
  if (length > MAX_SLAB_PAYLOAD) {
    const own = Buffer.allocUnsafeSlow(length);
    own.set(payload);
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
  copy.set(payload);
  return copy;
}
