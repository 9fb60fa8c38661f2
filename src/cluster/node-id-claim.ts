/**
 * How a joining node gets its node id: the configured one (a lease key set with NX PX), or the
 * first free one from a random start that no survivor is recovering (`recovering:<id>`, the
 * CLAIM script). Redis's single-key atomicity decides who holds an id.
 */

import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import { CLAIM } from './membership-scripts.js';
import type { ResolvedClusterOptions } from './options.js';

/** Number of node ids (0-255): the high bits of message ids (core/message-ids.ts). */
export const NODE_ID_COUNT = 256;

/**
 * Takes a node id's lease for `instance`: the configured `options.nodeId`, or else every id
 * once from a random start.
 * @returns the id now held.
 * @throws Error when the configured id is held, or every id is.
 */
export async function claimNodeId(
  redis: RedisClient,
  keys: ClusterKeys,
  options: ResolvedClusterOptions,
  instance: string,
): Promise<number> {
  const wanted = options.nodeId;
  const candidates = wanted !== undefined ? [wanted] : everyIdFrom(randomNodeId());
  for (const candidate of candidates) {
    // A free id is skipped while its dead holder is recovered (CLAIM); a configured one not.
    const taken =
      wanted !== undefined
        ? (await redis.set(keys.lease(candidate), instance, 'PX', options.leaseMs, 'NX')) === 'OK'
        : (await redis.eval(
            CLAIM,
            2,
            keys.lease(candidate),
            keys.recovering(candidate),
            instance,
            String(options.leaseMs),
          )) === 1;
    if (taken) return candidate;
  }
  throw new Error(
    wanted !== undefined
      ? `cluster node id ${wanted} is held by another live node: choose another or leave nodeId out`
      : `every cluster node id (0-${NODE_ID_COUNT - 1}) is held by a live node`,
  );
}

/** A node id drawn at random: where a join starts looking for a free one. */
function randomNodeId(): number {
  return Math.floor(Math.random() * NODE_ID_COUNT);
}

/**
 * Every node id once, from `start` on and round (one random start, not one draw per id: a
 * draw per id left about a third of the ids untried, e^-1 of them, so a join could find
 * "every id held" while some were free).
 */
export function everyIdFrom(start: number): number[] {
  return Array.from({ length: NODE_ID_COUNT }, (_, i) => (start + i) % NODE_ID_COUNT);
}
