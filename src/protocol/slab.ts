/**
 * A shared slab allocator for the small Buffers the codec hands out (decoded payloads and
 * binary fields, encoded packets).
 *
 * Why: Node's Buffer pool is 8 KiB, so at 1 KiB per payload a new ArrayBuffer is made
 * every few packets, and that allocation (plus the GC pressure of external memory) was the
 * largest cost of decoding after the copy itself. One 64 KiB slab shared by every decoder
 * and encoder cuts those allocations eightfold. Like Node's pool, a Buffer that lives long
 * keeps its slab alive: stores that keep payloads for a long time (retained messages,
 * offline queues) should copy them (`Buffer.from(payload)`) to hold only their own bytes.
 * Fields larger than {@link SLAB_MAX_FIELD} get a Buffer of their own.
 */

const SLAB_SIZE = 64 * 1024;

/** Largest allocation served from the slab. */
export const SLAB_MAX_FIELD = 4 * 1024;

let slab: Buffer | undefined;
let slabPos = 0;

/** An uninitialised Buffer of `len` bytes that no caller-provided chunk aliases. */
export function allocBytes(len: number): Buffer {
  if (len > SLAB_MAX_FIELD) return Buffer.allocUnsafeSlow(len);
  if (slab === undefined || slabPos + len > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabPos = 0;
  }
  const start = slabPos;
  // Keep each allocation 8-byte aligned, as Node's pool does.
  slabPos = (start + len + 7) & ~7;
  return slab.subarray(start, start + len);
}
