/**
 * Randomness as a port, so the core takes no Node module and a test can make what the broker
 * draws (assigned client identifiers) repeatable.
 */

/** A source of random bytes. */
export interface Random {
  /** `size` bytes from a cryptographically strong generator (a test may substitute its own). */
  bytes(size: number): Uint8Array;
}

/** Web Crypto's generator (global in Node 20: no import of `node:crypto`). */
export const systemRandom: Random = {
  bytes: (size) => globalThis.crypto.getRandomValues(new Uint8Array(size)),
};
