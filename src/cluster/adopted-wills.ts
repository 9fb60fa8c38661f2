/**
 * Delayed wills of the sessions a survivor adopts from a dead node. A client that had
 * disconnected from that node with a Will Delay Interval left its will waiting there, and the
 * node wrote it in the shared store with its due time; the survivor puts it back, so that it
 * is sent when it falls due, or not at all if the client connects again first
 * [MQTT-3.1.3-9], instead of being lost with the node. The wills of clients that were
 * connected when the node died come from its `wills:<id>` copy (node-wills.ts); their stored
 * copy has no due time and is left to that path.
 */
import type { BrokerCore } from '../core/index.js';
import { restoreStoredWill } from '../core/index.js';
import type { Logger } from '../ports/index.js';

/**
 * Puts back the waiting wills of `clientIds` (sessions just adopted); resolves with how many.
 * Never rejects: a failed read is logged (the wills stay stored).
 */
export async function restoreAdoptedWills(
  core: BrokerCore,
  clientIds: readonly string[],
  logger: Logger,
): Promise<number> {
  const store = core.persistence?.store;
  if (store === undefined || clientIds.length === 0) return 0;
  try {
    const stored = await store.loadWills();
    let restored = 0;
    const now = core.clock.now();
    for (const clientId of clientIds) {
      const will = stored.get(clientId);
      if (will?.dueAt === undefined || core.wills.has(clientId)) continue;
      restoreStoredWill(core, clientId, will, now);
      logger.info(
        { clientId, dueInMs: Math.max(0, will.dueAt - now) },
        'cluster: a delayed will of a session adopted from a dead node waits here',
      );
      restored++;
    }
    return restored;
  } catch (err) {
    logger.warn({ err: String(err) }, 'cluster: reading the adopted sessions’ wills failed');
    return 0;
  }
}
