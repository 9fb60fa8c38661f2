/**
 * The read of a session whose owner key a survivor just took from a dead node (adoptOne in
 * takeover.ts), made again when the store is briefly away.
 */
import type { Logger } from '../ports/index.js';

/** Reads of an adopted session's stored state before its adoption is given up. */
const ADOPT_READS = 4;
/** The pause before the second read of an adopted session (doubled before each next one). */
const ADOPT_READ_PAUSE_MS = 250;

/**
 * Reads the session whose owner key was just taken here (`load`), again after a pause when
 * the read fails (the store briefly away, as through a Redis failover), up to
 * {@link ADOPT_READS} times, while `owned` still has `clientId`. Given up on, the key is this
 * node's with no session in memory: nothing routes the session, and the dead node's inbox goes
 * to the sessions adopted only, so what was acknowledged for it there would be lost; a connect
 * elsewhere still resumes the stored session (this node's hold finds none and lets go of the
 * key).
 */
export async function readAdopted(
  clientId: string,
  load: () => Promise<void> | undefined,
  owned: ReadonlySet<string>,
  logger: Logger,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await load();
      return;
    } catch (err) {
      // Taken over meanwhile (no longer ours): the other node reads it.
      if (attempt >= ADOPT_READS || !owned.has(clientId)) throw err;
      logger.warn(
        { err: String(err), clientId, attempt },
        'cluster: reading an adopted session failed; reading it again',
      );
      await new Promise((resolve) => setTimeout(resolve, ADOPT_READ_PAUSE_MS * 2 ** (attempt - 1)));
    }
  }
}
