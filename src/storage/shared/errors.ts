/** Errors the stores raise, with stable codes the broker can test for. */

/** A commit failed because the disk (or the database's page limit) is full. */
export class StoreFullError extends Error {
  /** Always 'STORE_FULL'. */
  readonly code = 'STORE_FULL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreFullError';
  }
}

/** True for an error whose `code` is 'STORE_FULL'. */
export function isStoreFull(err: unknown): err is StoreFullError {
  return (
    typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'STORE_FULL'
  );
}

/**
 * A commit failed because the store could not be reached (a shared store such as Redis:
 * connection lost, refused or timed out). Nothing of the batch may be acknowledged; the
 * store reconnects on its own and later commits succeed once it is back.
 */
export class StoreUnavailableError extends Error {
  /** Always 'STORE_UNAVAILABLE'. */
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** True for an error whose `code` is 'STORE_UNAVAILABLE'. */
export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { code?: unknown }).code === 'STORE_UNAVAILABLE'
  );
}
