/**
 * A cluster node's start, in order (connect, claim a node id, subscribe, announce, read the
 * peers, read the inbox), and its resync when the pub/sub connection is subscribed again.
 */
import type { BrokerCore } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { Inbox } from './inbox.js';
import { ClusterKeys } from './keys.js';
import { MessageIdBlocks } from './message-id-blocks.js';
import type { NodeParts } from './node-wiring.js';
import type { ResolvedClusterOptions } from './options.js';

/**
 * Joins: claims a node id (the core numbers its messages with it), listens for route
 * announcements and control requests, writes this node's route table, reads the peers',
 * and starts reading the inbox (made here: `parts.inbox`).
 * @param lastError the last connection error, for a precise reason when joining fails.
 * @throws Error when Redis cannot be reached or the node id is taken.
 */
export async function startNode(
  parts: NodeParts,
  core: BrokerCore,
  options: ResolvedClusterOptions,
  logger: Logger,
  lastError: () => string | undefined,
): Promise<void> {
  const { commands, keys, membership, ownership, qos0 } = parts;
  try {
    await Promise.all([
      commands.connect(),
      parts.announcements.redis.connect(),
      parts.reader.connect(),
    ]);
  } catch (err) {
    // ioredis rejects with "Connection is closed"; the socket's error says why.
    throw new Error(lastError() ?? (err as Error).message);
  }
  const nodeId = await membership.join();
  await new MessageIdBlocks(commands, keys, core.messageIds, logger).start(nodeId);
  await parts.announcements.listen(nodeId);
  // Subscribed before this node's routes are announced: peers forward only after that.
  await qos0?.start(keys.qos0(nodeId));
  await parts.localRoutes.announceAs(nodeId);
  // Read after subscribing, those of dead nodes under recovery too (membership.ts); a read
  // that fails is tried again on each heartbeat (remote-routes.ts).
  const peers = [...membership.peers, ...membership.departingPeers];
  await Promise.all(peers.map((peer) => parts.remoteRoutes.resync(peer)));
  const cursors = parts.orphans ? core.persistence?.store.cursors : undefined;
  const inbox = new Inbox(
    parts.reader,
    keys.inbox(nodeId),
    core.pipeline,
    parts.outbox,
    logger,
    parts.malformed,
    cursors && {
      cursors,
      name: ClusterKeys.inboxCursor(parts.instance),
      commands,
      mutations: () => core.persistence?.mutations ?? 0,
      parked: parts.parked,
      maxLength: options.inboxMaxLength,
    },
  );
  parts.inbox = inbox;
  inbox.onMarker = (marker) => ownership.moves.barriers.onMarker(marker);
  if (qos0 !== undefined) ownership.moves.barriers.drainQos0 = (ms) => qos0.drain(ms);
  inbox.start();
  if (options.advertise !== undefined) {
    await commands.hset(keys.addresses, String(nodeId), options.advertise);
  }
  await parts.stats.publish(nodeId);
  // Marks this node's (empty) owner-key check for this master: claims elsewhere wait for it.
  await ownership.checkOwnerKeys();
}

/**
 * The pub/sub connection is subscribed again (back, or moved to another Redis Cluster
 * node): announcements may have been missed, resync both ways. False when the peers'
 * tables could not be read (the slot's master fails over): then nothing else was tried.
 */
export async function resyncNode(parts: NodeParts): Promise<boolean> {
  const { membership, remoteRoutes } = parts;
  const peers = [...membership.peers, ...membership.departingPeers];
  if ((await Promise.all(peers.map((p) => remoteRoutes.resync(p)))).includes(false)) {
    return false;
  }
  void parts.localRoutes.republish().catch(() => {});
  void parts.retained?.reload();
  return true;
}
