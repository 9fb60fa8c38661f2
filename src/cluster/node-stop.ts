/**
 * A cluster node's stop: it leaves (stops reading, removes its address, summary, lease,
 * routes and inbox), each step bounded, then closes its Redis connections.
 */
import type { Logger } from '../ports/index.js';
import type { NodeParts } from './node-wiring.js';
import { stopWithin } from './stop-within.js';

/** Stops reading and removes this node's address, summary, lease, routes and inbox (bounded). */
export async function leaveCluster(parts: NodeParts, logger: Logger): Promise<void> {
  const { commands, keys, membership, stats } = parts;
  parts.localRoutes.stop();
  await stopWithin(logger, 'the inbox reader', () => parts.inbox?.stop());
  try {
    await stopWithin(logger, 'leaving (address, summary, lease)', async () => {
      await commands.hdel(keys.addresses, String(membership.nodeId));
      await stats.remove(membership.nodeId);
      await membership.leave();
    });
  } catch (err) {
    logger.warn({ err: String(err) }, 'cluster: leaving failed (Redis unreachable?)');
  }
}

/** Closes the node's Redis connections (commands, pub/sub, QoS 0 channel, inbox reader). */
export function closeConnections(parts: NodeParts): void {
  parts.commands.disconnect();
  parts.announcements.stop();
  parts.qos0?.stop();
  parts.reader.disconnect();
}
