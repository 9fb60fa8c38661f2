/**
 * The wills a draining node held for dead nodes' clients (`orphan-wills:<id>`, node-wills.ts)
 * go to the peer it hands its sessions to, records as they are: the deadline in each still
 * counts from the first death, so the peer sends each at its original due time, or drops it
 * if its client resumes its session first [MQTT-3.1.3-9]. A drain is neither: the will is not
 * cancelled [MQTT-3.1.2-8]. The draining node stopped its own timers for them when it let go
 * of its sessions for the peer (session-hold.ts releaseAll); the move is one script, as a
 * survivor's removal of a dead holder (REMOVE_TRACES) moves them: whoever moves them first
 * holds them, one node only.
 */
import type { BrokerCore } from '../core/index.js';
import type { Logger, StoredWill } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { restoreAdoptedWill, storedWills } from './adopted-wills.js';
import type { HandedOver } from './drain-peers.js';
import type { ClusterKeys } from './keys.js';
import { type NodeWills, type OrphanWill, orphanWills } from './node-wills.js';

// Moves every record of `orphan-wills:<draining node>` (KEYS[1]) into `orphan-wills:<us>`
// (KEYS[2]), replacing a record of the same client id there (the moved one is the newer:
// node-wills.ts adopt replaces the waiting will the same way). Returns field, value pairs.
// A key of another type is left alone (not a record hash: nothing moved).
const TAKE_HELD_WILLS = `
if KEYS[1] == KEYS[2] then return {} end
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return {} end
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[2]) end
local held = redis.call('HGETALL', KEYS[1])
for i = 1, #held, 2 do redis.call('HSET', KEYS[2], held[i], held[i + 1]) end
redis.call('DEL', KEYS[1])
return held`;

/**
 * Takes the wills node `from` (draining) held into this node's `orphan-wills:<self>`;
 * resolves with them, for `NodeWills.adopt` to schedule.
 */
export async function takeHeldWills(
  redis: RedisClient,
  keys: ClusterKeys,
  from: number,
  self: number,
): Promise<OrphanWill[]> {
  const pairs = (await redis.callBuffer(
    'EVAL',
    TAKE_HELD_WILLS,
    2,
    keys.orphanWills(from),
    keys.orphanWills(self),
  )) as Buffer[];
  return orphanWills(pairs);
}

/**
 * What a peer that adopts a draining node's sessions takes with them: the sessions' delayed
 * wills from the store (adopted-wills.ts), and the wills the node held for dead nodes'
 * clients, scheduled by `wills` (node-wills.ts) at their original deadlines.
 */
export function handedOverWills(
  core: BrokerCore,
  redis: RedisClient,
  keys: ClusterKeys,
  wills: NodeWills,
  self: () => number,
  logger: Logger,
): HandedOver {
  return {
    take: async (from) => {
      try {
        const taken = await takeHeldWills(redis, keys, from, self());
        if (taken.length > 0) wills.adopt(from, taken);
      } catch (err) {
        // They stay in the draining node's `orphan-wills:<id>`, for the node that claims it.
        logger.warn(
          { err: String(err), node: from },
          'cluster: taking a drained node’s wills failed',
        );
      }
      let stored: ReadonlyMap<string, StoredWill>;
      try {
        stored = await storedWills(core);
      } catch (err) {
        logger.warn({ err: String(err) }, 'cluster: reading the handed-over wills failed');
        stored = new Map();
      }
      return (clientId) => void restoreAdoptedWill(core, clientId, stored, logger);
    },
  };
}
