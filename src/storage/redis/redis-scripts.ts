/**
 * The Lua scripts of the Redis store: the read-modify-write steps that must be atomic. Each
 * touches the keys of one slot only (one client's, one message's, or the retained ones), so
 * each is legal on Redis Cluster. ioredis sends a script's text once per connection, then
 * its SHA.
 *
 * Reference counting: every queue or inflight entry counts one reference on its message's
 * hash (`r`), added in the same transaction as the entry. The scripts that remove entries
 * return the ids of the messages they stopped referencing; the store then takes those
 * references back (`unref`) in its next batch. So a message's count is never below the
 * number of entries that reference it, and a body is deleted only when nothing does.
 */
import type { RedisClient } from '../../redis/redis-client.js';

interface ScriptDefinition {
  numberOfKeys: number;
  lua: string;
}

/** Removes queue entries with seq <= ARGV[1]; returns their message ids. */
const dequeue: ScriptDefinition = {
  numberOfKeys: 2, // queue, queue meta
  lua: `
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #gone == 0 then return {} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local ids, bytes = {}, 0
for i, member in ipairs(gone) do
  local e = cjson.decode(member)
  ids[i] = e.m
  bytes = bytes + e.b
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[2], 'b', 0)
else
  redis.call('HINCRBY', KEYS[2], 'b', -bytes)
end
return ids`,
};

/** Deletes a client's queue and inflight entries; returns the message ids they referenced. */
const deleteQueue: ScriptDefinition = {
  numberOfKeys: 3, // queue, queue meta, inflight
  lua: `
local ids = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  ids[#ids + 1] = cjson.decode(member).m
end
for _, value in ipairs(redis.call('HVALS', KEYS[3])) do
  ids[#ids + 1] = tonumber(string.match(value, '^%d+ (%d+) '))
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return ids`,
};

/**
 * Puts an inflight entry `<ord> <message id> <state> <delivery>` under packet id ARGV[1]. The
 * same message keeps its place in send order; another one goes last. Returns the id of the
 * message whose reference this call takes back (the old message of a reused packet id, or
 * the same message: the caller counted a reference it already held), or nil.
 */
const putInflight: ScriptDefinition = {
  numberOfKeys: 2, // inflight, queue meta
  lua: `
local old = redis.call('HGET', KEYS[1], ARGV[1])
local ord, released
if old then
  local oldOrd, oldId = string.match(old, '^(%d+) (%d+) ')
  released = oldId
  if oldId == ARGV[2] then ord = oldOrd end
end
if not ord then ord = redis.call('HINCRBY', KEYS[2], 'o', 1) end
redis.call('HSET', KEYS[1], ARGV[1], ord .. ' ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
if released then return tonumber(released) end
return false`,
};

/** Deletes the inflight entry of packet id ARGV[1]; returns its message id, or nil. */
const deleteInflight: ScriptDefinition = {
  numberOfKeys: 1, // inflight
  lua: `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
return tonumber(string.match(old, '^%d+ (%d+) '))`,
};

/** Takes ARGV[1] references back; deletes the message at zero. Returns 1 when a body went. */
const unref: ScriptDefinition = {
  numberOfKeys: 1, // message
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local left = redis.call('HINCRBY', KEYS[1], 'r', -tonumber(ARGV[1]))
if left > 0 then return 0 end
local hadBody = redis.call('HEXISTS', KEYS[1], 'b')
redis.call('DEL', KEYS[1])
return hadBody`,
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
  pipitDeleteQueue: deleteQueue,
  pipitPutInflight: putInflight,
  pipitDeleteInflight: deleteInflight,
  pipitUnref: unref,
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
