/**
 * The Lua scripts of the Redis store: the read-modify-write steps that must be atomic. Each
 * touches the keys of one client (or the retained ones) and the message hashes its entries
 * reference. On one server any key may be touched; on a Redis Cluster every key of the store
 * is in the slot of the prefix's hash tag (redis-keys.ts), so a script that reaches a message
 * hash by a name it builds (not passed in KEYS) stays in the one slot it was sent to.
 *
 * Reference counting: every queue or inflight entry counts one reference on its message's
 * hash (`r`), added in the same transaction as the entry. The scripts that remove entries
 * take their references back in the same step, and add each message whose count reached 0
 * to the released set; `pipitCollect`, the last command of every batch that released
 * something, deletes those still at 0 (an entry later in the same batch may have referenced
 * the message again: its body was not sent again in that batch). So a message's count is
 * never below the number of entries that reference it, a body is deleted only when nothing
 * does, and since the whole batch is one MULTI/EXEC, a node killed at any point leaves no
 * body behind with a count above its entries (the release once rode in the next batch, and
 * a kill in between leaked the body: docs/cluster.md, "Crash loop").
 */
import type { RedisClient } from '../../redis/redis-client.js';

interface ScriptDefinition {
  numberOfKeys: number;
  lua: string;
}

/**
 * Lua: takes back one reference on message `id` (a number or a digit string) under `prefix`;
 * a message left at 0 goes into the released set `set` (deleted by `pipitCollect`). The
 * message hash missing (collected while an old entry still named it) is left alone.
 */
const RELEASE = `
local function release(set, prefix, id)
  if type(id) == 'number' then id = string.format('%.0f', id) end
  local key = prefix .. id
  if redis.call('EXISTS', key) == 0 then return end
  if redis.call('HINCRBY', key, 'r', -1) <= 0 then redis.call('SADD', set, id) end
end
`;

/**
 * Lua that removes the queue entries scored from `low` to ARGV[1] (the queue's score is the
 * seq), takes back their references (message prefix ARGV[2]) and their bytes; returns how
 * many entries went.
 */
function removeQueueRange(low: string): string {
  return `${RELEASE}
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], ${low}, ARGV[1])
if #gone == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], ${low}, ARGV[1])
local bytes = 0
for _, member in ipairs(gone) do
  local e = cjson.decode(member)
  release(KEYS[3], ARGV[2], e.m)
  bytes = bytes + e.b
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[2], 'b', 0)
else
  redis.call('HINCRBY', KEYS[2], 'b', -bytes)
end
return #gone`;
}

/** Removes queue entries with seq <= ARGV[1] (see removeQueueRange). */
const dequeue: ScriptDefinition = {
  numberOfKeys: 3, // queue, queue meta, released set
  lua: removeQueueRange("'-inf'"),
};

/** Removes the queue entry with seq ARGV[1] only, if there is one (see removeQueueRange). */
const removeQueued: ScriptDefinition = {
  numberOfKeys: 3, // queue, queue meta, released set
  lua: removeQueueRange('ARGV[1]'),
};

/**
 * Lua that deletes a client's queue and inflight entries and takes back their references:
 * the keys and the message prefix named by the Lua expressions given.
 */
function deleteQueueLua(
  queue: string,
  meta: string,
  inflight: string,
  released: string,
  prefix: string,
): string {
  return `
for _, member in ipairs(redis.call('ZRANGE', ${queue}, 0, -1)) do
  release(${released}, ${prefix}, cjson.decode(member).m)
end
for _, value in ipairs(redis.call('HVALS', ${inflight})) do
  release(${released}, ${prefix}, string.match(value, '^%d+ (%d+) '))
end
redis.call('DEL', ${queue}, ${meta}, ${inflight})`;
}

/**
 * Deletes a client's queue and inflight entries and takes back their references (message
 * prefix ARGV[1]).
 */
const deleteQueue: ScriptDefinition = {
  numberOfKeys: 4, // queue, queue meta, inflight, released set
  lua: `${RELEASE}${deleteQueueLua('KEYS[1]', 'KEYS[2]', 'KEYS[3]', 'KEYS[4]', 'ARGV[1]')}
return 0`,
};

/**
 * Lua: true when the fence key KEYS[1] holds ARGV[1] (a cluster node's owner key naming it:
 * WriteFence). Any other type there is not a match (and no error that would fail the batch).
 */
const FENCE_HOLDS = `
local function fenceHolds()
  return redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1]
end
`;

/**
 * deleteQueue only while the fence holds (KEYS[1] = ARGV[1]); also takes the client id
 * (ARGV[3]) out of the queues index (KEYS[6]). Returns 1 when it deleted.
 */
const deleteQueueIf: ScriptDefinition = {
  numberOfKeys: 6, // fence, queue, queue meta, inflight, released set, queues index
  lua: `${RELEASE}${FENCE_HOLDS}
if not fenceHolds() then return 0 end
${deleteQueueLua('KEYS[2]', 'KEYS[3]', 'KEYS[4]', 'KEYS[5]', 'ARGV[2]')}
redis.call('SREM', KEYS[6], ARGV[3])
return 1`,
};

/**
 * Deletes a session record, its subscriptions and inbound ids, and its entries in the
 * sessions index and the wills hash (client id ARGV[2]), only while the fence holds (KEYS[1]
 * = ARGV[1]). Returns 1 when it deleted.
 */
const deleteSessionIf: ScriptDefinition = {
  numberOfKeys: 6, // fence, session, subscriptions, inbound, sessions index, wills
  lua: `${FENCE_HOLDS}
if not fenceHolds() then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[5], ARGV[2])
redis.call('HDEL', KEYS[6], ARGV[2])
return 1`,
};

/** Stores will ARGV[3] of client ARGV[2] only while the fence holds (KEYS[1] = ARGV[1]). */
const putWillIf: ScriptDefinition = {
  numberOfKeys: 2, // fence, wills
  lua: `${FENCE_HOLDS}
if not fenceHolds() then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`,
};

/**
 * Puts an inflight entry `<ord> <message id> <state> <delivery>` under packet id ARGV[1]. The
 * same message keeps its place in send order; another one goes last. Takes back the
 * reference of the entry it replaces (message prefix ARGV[5]): the old message of a reused
 * packet id, or the same message (the caller counted, earlier in the batch, a reference the
 * old entry already held, so its count never touches 0 here).
 */
const putInflight: ScriptDefinition = {
  numberOfKeys: 3, // inflight, queue meta, released set
  lua: `${RELEASE}
local old = redis.call('HGET', KEYS[1], ARGV[1])
local ord, released
if old then
  local oldOrd, oldId = string.match(old, '^(%d+) (%d+) ')
  released = oldId
  if oldId == ARGV[2] then ord = oldOrd end
end
if not ord then ord = redis.call('HINCRBY', KEYS[2], 'o', 1) end
redis.call('HSET', KEYS[1], ARGV[1], ord .. ' ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
if released then release(KEYS[3], ARGV[5], released) end
return 0`,
};

/**
 * Deletes the inflight entry of packet id ARGV[1] and takes back its reference (message
 * prefix ARGV[2]); returns 1 when there was one.
 */
const deleteInflight: ScriptDefinition = {
  numberOfKeys: 2, // inflight, released set
  lua: `${RELEASE}
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
release(KEYS[2], ARGV[2], string.match(old, '^%d+ (%d+) '))
return 1`,
};

/**
 * Deletes the messages of the released set (message prefix ARGV[1]) still at 0 references,
 * then empties the set (it is empty between batches). Returns how many bodies went.
 */
const collect: ScriptDefinition = {
  numberOfKeys: 1, // released set
  lua: `
local deleted = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. id
  if tonumber(redis.call('HGET', key, 'r') or '0') <= 0 then
    deleted = deleted + redis.call('HEXISTS', key, 'b')
    redis.call('DEL', key)
  end
end
redis.call('DEL', KEYS[1])
return deleted`,
};

/** Records a session's owner (ARGV[1] '1': username ARGV[2]; '0': anonymous) if it exists. */
const setOwner: ScriptDefinition = {
  numberOfKeys: 1, // session
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'ob', '1')
if ARGV[1] == '1' then redis.call('HSET', KEYS[1], 'ou', ARGV[2])
else redis.call('HDEL', KEYS[1], 'ou') end
return 1`,
};

/** Raises the stored last message id to ARGV[1] (never lowers it). */
const raiseLastId: ScriptDefinition = {
  numberOfKeys: 1, // meta
  lua: `
local current = tonumber(redis.call('HGET', KEYS[1], 'lastId') or '0')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'lastId', ARGV[1]) end
return 0`,
};

/** Deletes the retained message of topic ARGV[1] if it is still the one read (ARGV[2]). */
const deleteRetainedIfSame: ScriptDefinition = {
  numberOfKeys: 2, // retained, retained topics
  lua: `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`,
};

/** The scripts by the command name they are defined under. */
export const SCRIPTS = {
  pipitDequeue: dequeue,
  pipitRemoveQueued: removeQueued,
  pipitDeleteQueue: deleteQueue,
  pipitDeleteQueueIf: deleteQueueIf,
  pipitDeleteSessionIf: deleteSessionIf,
  pipitPutWillIf: putWillIf,
  pipitPutInflight: putInflight,
  pipitDeleteInflight: deleteInflight,
  pipitCollect: collect,
  pipitSetOwner: setOwner,
  pipitRaiseLastId: raiseLastId,
  pipitDeleteRetainedIfSame: deleteRetainedIfSame,
} as const;

/** A script's command name. */
export type ScriptName = keyof typeof SCRIPTS;

/** Defines every script as a command of `client` (and of its pipelines and transactions). */
export function defineScripts(client: RedisClient): void {
  for (const [name, { numberOfKeys, lua }] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys, lua });
  }
}
