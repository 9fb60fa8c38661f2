/**
 * The ids of the messages a session already holds, so that a delivery that may repeat one
 * (a moved session's parked messages, a dead node's inbox read again after its survivor died)
 * is skipped rather than delivered twice. Message ids are unique across nodes and kept by
 * forwards and by the store's queue entries.
 */
import type { BrokerCore, Session } from '../core/index.js';

/** The ids `session` holds: inflight, and queued in the store. */
export async function heldMessageIds(core: BrokerCore, session: Session): Promise<Set<number>> {
  const held = new Set<number>();
  for (const entry of session.inflight.values()) held.add(entry.delivery.message.id);
  const store = core.persistence?.store;
  if (store !== undefined && session.queuedCount > 0) {
    const page = await store.readQueue(session.clientId, 0, session.queuedCount);
    for (const entry of page.entries) held.add(entry.delivery.messageId);
  }
  return held;
}
