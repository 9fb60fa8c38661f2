/**
 * A second death during a recovery (issue #11). The survivor V that removed dead node D is
 * named in `recoverer:<D>` until it has recovered D's sessions; the client ids it adopted
 * from D are added to `adopted:<D>` in the same step as their owner keys. If V dies before it
 * is done, the survivor W that removes V adopts V's sessions (D's among them) and then takes
 * D's recovery over here: it adopts the sessions D still owns and delivers D's renamed inbox,
 * from the position V had delivered it to, to all of D's sessions it now holds.
 */
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import type { OrphanInbox } from './membership.js';
import { TAKE_OVER_RECOVERY } from './membership-scripts.js';
import { NODE_ID_COUNT } from './node-id-claim.js';

/** A dead node's recovery taken over from its recoverer, which died too. */
export interface TakenOverRecovery {
  /** The dead node whose recovery this is. */
  readonly nodeId: number;
  /** Its dead instance (the owner keys of the sessions it still owns name it). */
  readonly instance: string;
  /** Its renamed inbox, when there is still one to read. */
  readonly orphan: OrphanInbox | undefined;
  /** The client ids the dead recoverer adopted from it (their sessions came here with it). */
  readonly adopted: readonly string[];
}

/** The node ids whose recovery `recoverer` (`<node id>/<instance>`) was running. */
export async function recoveriesLedBy(
  redis: RedisClient,
  keys: ClusterKeys,
  recoverer: string,
): Promise<number[]> {
  const ids = Array.from({ length: NODE_ID_COUNT }, (_, i) => i);
  const held = await redis.mget(ids.map((id) => keys.recoverer(id)));
  return ids.filter((id) => held[id] === recoverer);
}

/**
 * Takes the recovery of dead node `nodeId` over from `recoverer` (`<id>/<instance>`, dead:
 * its lease no longer names that instance) for `self`; undefined when another survivor took
 * it, it ended, or the recoverer is alive after all. The recovery's keys live `ttlMs` more.
 */
export async function takeOverRecovery(
  redis: RedisClient,
  keys: ClusterKeys,
  nodeId: number,
  recoverer: string,
  self: string,
  ttlMs: number,
): Promise<TakenOverRecovery | undefined> {
  const slash = recoverer.indexOf('/');
  const recovererNode = Number(recoverer.slice(0, slash));
  if (slash < 0 || !Number.isInteger(recovererNode)) return undefined;
  const result = await redis.eval(
    TAKE_OVER_RECOVERY,
    5,
    keys.lease(recovererNode),
    keys.recoverer(nodeId),
    keys.recovering(nodeId),
    keys.adopted(nodeId),
    keys.routes(nodeId),
    recoverer,
    self,
    String(ttlMs),
    keys.orphan(nodeId, ''),
    recoverer.slice(slash + 1),
  );
  if (!Array.isArray(result)) return undefined;
  const [instance, orphan, adopted] = result as [string, string, string[]];
  return {
    nodeId,
    instance,
    orphan: orphan === '' ? undefined : { key: orphan, instance },
    adopted,
  };
}

/**
 * Takes over, for `self`, every recovery the dead `recoverer` was running (see
 * {@link takeOverRecovery}); resolves with those it got.
 */
export async function takeOverRecoveries(
  redis: RedisClient,
  keys: ClusterKeys,
  recoverer: string,
  self: string,
  ttlMs: number,
): Promise<TakenOverRecovery[]> {
  const taken: TakenOverRecovery[] = [];
  for (const nodeId of await recoveriesLedBy(redis, keys, recoverer)) {
    const recovery = await takeOverRecovery(redis, keys, nodeId, recoverer, self, ttlMs);
    if (recovery !== undefined) taken.push(recovery);
  }
  return taken;
}
