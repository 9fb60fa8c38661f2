/**
 * Which Redis master a node's owner-key check ran against (issue #11), kept in Redis as a mark
 * per node (`owners-checked:<node id>`), so that a claim elsewhere can tell whether every live
 * node has written back the owner keys a failover lost (free-claim-gate.ts).
 *
 * The master's identity is read inside Redis, by the scripts that need it, as
 * `<run_id>/<master_replid>`: the `run_id` changes when the server restarts (a restart with
 * persistence keeps its replication id but may lose the writes since the last save), the
 * replication id on every promotion (also of a server that was master before: a failback
 * keeps its `run_id`, which is why the run id alone does not do). Read in the script that
 * writes or compares a mark, it is always the identity of the master that runs it, never one
 * a node read before its connection moved to another master.
 */
import type { RedisClient } from '../redis/redis-client.js';

/**
 * A Lua function `identity()`: `<run_id>/<master_replid>` of the server running the script;
 * '' when it cannot say (INFO renamed or refused): every mark then matches, the gate stays
 * open, as before it existed, rather than refusing clients.
 */
export const IDENTITY_LUA = `
local function identity()
  local s = redis.pcall('INFO', 'server')
  local r = redis.pcall('INFO', 'replication')
  if type(s) ~= 'string' or type(r) ~= 'string' then return '' end
  return (string.match(s, 'run_id:(%x+)') or '') .. '/' .. (string.match(r, 'master_replid:(%x+)') or '')
end`;

// KEYS[1] routes the script to the master of the prefix's slot (a Redis Cluster); unused.
const READ_IDENTITY = `${IDENTITY_LUA}
return identity()`;

// Sets the mark KEYS[1] to ARGV[1], the identity read when the check began, only while the
// master running this is still that one: a check whose commands went to two masters (a
// failover during it) marks nothing, and the check that the new connection starts marks.
const MARK = `${IDENTITY_LUA}
if identity() ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

/** The identity of the master `redis` talks to (on a Redis Cluster, `mark`'s slot's). */
export async function readMasterIdentity(redis: RedisClient, mark: string): Promise<string> {
  return String(await redis.eval(READ_IDENTITY, 1, mark));
}

/**
 * Marks the check of this node's owner keys done (`mark`) for master `identity`, read before
 * the check wrote anything. False when the master changed since (nothing marked).
 */
export async function markChecked(
  redis: RedisClient,
  mark: string,
  identity: string,
): Promise<boolean> {
  return (await redis.eval(MARK, 1, mark, identity)) === 1;
}
