/**
 * Delayed wills of the sessions a node adopts: from a dead node (its survivor), or from a
 * draining node (the peer it hands its sessions to). A client that had disconnected with a
 * Will Delay Interval left its will waiting on that node, which wrote it in the shared store
 * with its due time; the adopting node puts it back, so that it is sent when it falls due,
 * or not at all if the client connects again first [MQTT-3.1.3-9], instead of being lost
 * with the node (a drain is neither a resume nor a send: the will goes on [MQTT-3.1.2-8]).
 * The wills of clients that were connected when a node died come from its `wills:<id>` copy
 * (node-wills.ts); their stored copy has no due time and is left to that path. The node
 * stored its verdict on the will with it (core will-verdict.ts), followed here when no rule of
 * this node applies to the client; a will stored by an older Pipit has none: it is sent only
 * if a rule of this node allows its client, and logged (warn).
 */
import type { BrokerCore } from '../core/index.js';
import { restoreStoredWill } from '../core/index.js';
import type { Logger, StoredWill } from '../ports/index.js';

/** The waiting wills in the store by client id (empty without a store). */
export async function storedWills(core: BrokerCore): Promise<ReadonlyMap<string, StoredWill>> {
  const store = core.persistence?.store;
  return store === undefined ? new Map() : await store.loadWills();
}

/**
 * Puts back `clientId`'s delayed will from `stored` (read before its session was adopted)
 * unless one waits here already or its client is connected (it resumed the session since:
 * the will is cancelled [MQTT-3.1.3-9]). True when put back.
 */
export function restoreAdoptedWill(
  core: BrokerCore,
  clientId: string,
  stored: ReadonlyMap<string, StoredWill>,
  logger: Logger,
): boolean {
  const will = stored.get(clientId);
  if (will?.dueAt === undefined || core.wills.has(clientId)) return false;
  const session = core.sessions.get(clientId);
  if (session === undefined || session.output !== undefined) return false;
  const now = core.clock.now();
  restoreStoredWill(core, clientId, will, now);
  const dueInMs = Math.max(0, will.dueAt - now);
  if (will.verdict === undefined) {
    logger.warn(
      { clientId, dueInMs },
      'cluster: a delayed will of an adopted session waits here, without its node’s verdict (stored by an older node): it is sent only if a rule of this node allows it',
    );
  } else {
    logger.info({ clientId, dueInMs }, 'cluster: a delayed will of an adopted session waits here');
  }
  return true;
}

/**
 * Puts back the waiting wills of `clientIds` (sessions just adopted); resolves with how many.
 * Never rejects: a failed read is logged (the wills stay stored).
 */
export async function restoreAdoptedWills(
  core: BrokerCore,
  clientIds: readonly string[],
  logger: Logger,
): Promise<number> {
  if (core.persistence === undefined || clientIds.length === 0) return 0;
  try {
    const stored = await storedWills(core);
    let restored = 0;
    for (const clientId of clientIds) {
      if (restoreAdoptedWill(core, clientId, stored, logger)) restored++;
    }
    return restored;
  } catch (err) {
    logger.warn({ err: String(err) }, 'cluster: reading the adopted sessions’ wills failed');
    return 0;
  }
}
