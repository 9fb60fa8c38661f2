/**
 * Test helper: the Redis store's message references as Redis holds them, to check that
 * each message's reference count equals the queue and inflight entries that name it (none
 * left behind by a crash, none deleted while named). Reads the key layout of
 * src/storage/redis/redis-keys.ts under `prefix` on one server (no hash tag in the prefix).
 */
import type { Redis } from 'ioredis';

/** One message id: its hash's count and body, and the entries that name it. */
export interface MessageReferences {
  id: number;
  /** The hash's `r` (0 when there is no hash). */
  count: number;
  /** True when the hash holds a body (`b`). */
  body: boolean;
  /** Queue and inflight entries that name the message. */
  entries: number;
}

/** Every key matching `pattern`. */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/**
 * One script, so one snapshot even while brokers write (a batch is one MULTI/EXEC): each
 * message hash and each message id an entry names, as `<id> <count> <body 0|1> <entries>`.
 */
const READ_REFERENCES = `
local prefix, refs, ids = ARGV[1], {}, {}
local function at(id)
  if type(id) == 'number' then id = string.format('%.0f', id) end
  if not refs[id] then refs[id] = { 0, 0, 0 }; ids[#ids + 1] = id end
  return refs[id]
end
local mp = prefix .. 'm:'
for _, key in ipairs(redis.call('KEYS', mp .. '*')) do
  local r = at(string.sub(key, #mp + 1))
  r[1] = tonumber(redis.call('HGET', key, 'r') or '0')
  r[2] = redis.call('HEXISTS', key, 'b')
end
for _, key in ipairs(redis.call('KEYS', prefix .. '{c:*}:q')) do
  for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local r = at(cjson.decode(member).m)
    r[3] = r[3] + 1
  end
end
for _, key in ipairs(redis.call('KEYS', prefix .. '{c:*}:f')) do
  for _, value in ipairs(redis.call('HVALS', key)) do
    local r = at(string.match(value, '^%d+ (%d+) '))
    r[3] = r[3] + 1
  end
end
local out = {}
for i, id in ipairs(ids) do
  local r = refs[id]
  out[i] = id .. ' ' .. r[1] .. ' ' .. r[2] .. ' ' .. r[3]
end
return out`;

/**
 * Every message hash and every message an entry names, with both sides, read in one step
 * (KEYS in a script: for test servers, never for a production one).
 */
export async function readReferences(
  redis: Redis,
  prefix = 'pipit:',
): Promise<MessageReferences[]> {
  const lines = (await redis.eval(READ_REFERENCES, 0, prefix)) as string[];
  return lines
    .map((line) => {
      const [id, count, body, entries] = line.split(' ').map(Number);
      return { id: id!, count: count!, body: body === 1, entries: entries! };
    })
    .sort((a, b) => a.id - b.id);
}

/** The messages whose count is not their entries', or that entries name without a body. */
export function wrongReferences(refs: MessageReferences[]): string[] {
  return refs
    .filter((r) => r.count !== r.entries || (r.entries > 0 && !r.body))
    .map((r) => `message ${r.id}: count ${r.count}, entries ${r.entries}, body ${r.body}`);
}
