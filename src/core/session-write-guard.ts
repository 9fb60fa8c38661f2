/**
 * Whether this node may still write a client's stored session that it writes again after a
 * failed batch (session-resync.ts), when the client may have gone to another node meanwhile.
 *
 * On one node the store is this node's alone: it may always ({@link LOCAL_WRITES}). In a
 * cluster the nodes share the store, and the client may have connected to another node, its
 * session moved or been taken over there, since this node's batch failed: that stored session
 * is the other node's now, and deleting it again (the resync of a session deleted in a failed
 * batch) or writing a will over it would lose a live session. So the cluster supplies a guard
 * (src/cluster/takeover.ts) that answers from the client's owner key, with a fence the store
 * checks in the write's own atomic step (WriteFence: a compare-and-delete in the Redis store's
 * Lua) for the writes made for a client this node holds no session for. The core knows
 * nothing of owner keys: it asks and passes the fence on.
 */
import type { WriteFence } from '../ports/index.js';

/** Leave to write a client's stored session: with a fence the store checks, or without one. */
export interface WriteGrant {
  /** Checked by the store with the deletion and the will's write (absent: unconditional). */
  readonly fence?: WriteFence | undefined;
}

/** Asked before the resync writes a client's stored session again. */
export interface SessionWriteGuard {
  /**
   * Leave to write `clientId`'s stored session, or undefined when this node may not (another
   * node holds the client now: the store is that node's to write). Rejects when it cannot be
   * told (the cluster's Redis unreachable): the resync tries again later.
   */
  mayWrite(clientId: string): Promise<WriteGrant | undefined>;
  /**
   * The deletion of `clientId`'s stored session, made again with this guard's leave for a
   * client this node holds no session for, is committed: nothing more is to be written for
   * it here, and what the guard kept for it may go (a cluster node's owner key, kept while
   * the deletion was pending: SessionRegistry.deletionSettled).
   */
  written?(clientId: string): void;
}

/** One node's store: every write is this node's to make. */
export const LOCAL_WRITES: SessionWriteGuard = {
  mayWrite: () => Promise.resolve({}),
};
