/**
 * The Lua scripts of cluster membership (membership.ts): each one step that must be atomic
 * over several keys (a lease, the members set, a node's route table and inbox).
 */

// Makes an empty inbox stream (KEYS[n] in the script that includes it) unless one is there:
// a forward is a plain `XADD ... NOMKSTREAM` (outbox.ts) that appends only while the stream
// exists, so a member's inbox must exist from its join on, and never a non-member's (the
// removal renames or deletes it in the script that takes the node out of `nodes`). A group
// made and destroyed: the stream is left empty, with no entry id taken and no group.
// Returns true when it made one.
const MAKE_INBOX = `
local function makeInbox(key)
  if redis.call('EXISTS', key) == 1 then return false end
  redis.call('XGROUP', 'CREATE', key, 'made', '$', 'MKSTREAM')
  redis.call('XGROUP', 'DESTROY', key, 'made')
  return true
end`;

// Claims a node id's lease (KEYS[1], NX with expiry ARGV[2]) for instance ARGV[1], unless a
// survivor still recovers that id's dead holder (KEYS[2], `recovering:<id>`): until it has
// routed the adopted sessions, the dead node's routes stay and the others forward to the
// node id's inbox, which a new holder would make again and read as its own (dropping what it
// holds no session for). Returns 1 when claimed.
export const CLAIM = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`;

// Renews our lease if it is ours; sets it again if it vanished (Redis restarted empty, or a
// survivor removed us after our lease expired): our membership and inbox (KEYS[4]) with it.
// Returns 1 renewed, 2 set again, 0 held by another instance, 3 renewed but our inbox was
// missing while we are a member (deleted by hand, or evicted: `maxmemory` without
// `noeviction`) and is made again: forwards to us were refused until now.
export const RENEW = `${MAKE_INBOX}
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 and makeInbox(KEYS[4]) then return 3 end
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[1]) makeInbox(KEYS[4]) return 2
end
return 0`;

// Deletes our lease only if it is still ours.
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// Removes a node's traces only if no one holds its id again meanwhile (a new node that
// claimed it must keep its fresh route table). Returns {instance, orphan, wills} only to the
// one caller that removed them, else 0. With ARGV[3] = '1' the inbox is not deleted but
// renamed to `orphan:<id>:<instance>` (ARGV[4] .. instance, expiring after ARGV[5] ms as a
// bound on garbage): the acknowledged messages it holds are read by this caller, who adopts
// the node's sessions. In the same script the node leaves `nodes`, so from here on no
// forward can add to its inbox (outbox.ts appends only to an existing inbox, NOMKSTREAM, and
// a member's is made at its join): nothing lands behind the rename where no one reads. `recovering:<id>` names the dead instance until that caller
// has recovered its sessions (or it expires): meanwhile no other node claims them. The
// departure is then announced by that caller once it has
// adopted the sessions and announced their routes (see `departing`), else right here. Until
// that announcement the route table stays (expiring like the inbox): a node that joins
// meanwhile reads it (the node is named by `recovering:<id>`), so that what it accepts for
// those sessions is refused (the node left `nodes`) rather than routed nowhere.
// `recoverer:<id>` (KEYS[9]) names that caller (ARGV[6]) and `adopted:<id>` (KEYS[10]) starts
// empty: if the caller dies too, the survivor that removes it takes the recovery over
// (TAKE_OVER_RECOVERY).
// The wills go to the caller's `orphan-wills:<caller id>` (KEYS[12]) in the same step, each
// kept there until it is sent or cancelled: the dead node's copies (`wills:<id>`, KEYS[6]) as
// `<ARGV[7], the time of the removal in ms>|<copy>`, and the wills of other dead nodes' clients
// it held (`orphan-wills:<id>`, KEYS[11]) as they were (their deadline counts from the first
// death); a copy replaces a held will of the same client id (it is newer). Returned as field,
// value pairs. A node removing itself (it leaves: KEYS[11] = KEYS[12]) discards its copies and
// keeps what it held, for the node that claims its id. A key of another type is ignored.
export const REMOVE_TRACES = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
local moved = {}
if KEYS[11] ~= KEYS[12] then
  if redis.call('TYPE', KEYS[11])['ok'] == 'hash' then
    local held = redis.call('HGETALL', KEYS[11])
    for i = 1, #held, 2 do moved[held[i]] = held[i + 1] end
  end
  if redis.call('TYPE', KEYS[6])['ok'] == 'hash' then
    local copies = redis.call('HGETALL', KEYS[6])
    for i = 1, #copies, 2 do moved[copies[i]] = ARGV[7] .. '|' .. copies[i + 1] end
  end
  redis.call('DEL', KEYS[11])
end
local wills = {}
local kind = redis.call('TYPE', KEYS[12])['ok']
if next(moved) ~= nil and kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[12]) end
for field, record in pairs(moved) do
  redis.call('HSET', KEYS[12], field, record)
  wills[#wills + 1] = field
  wills[#wills + 1] = record
end
local instance = redis.call('HGET', KEYS[7], ARGV[1])
if not instance then instance = '' end
redis.call('HDEL', KEYS[7], ARGV[1])
local orphan = ''
if ARGV[3] == '1' and instance ~= '' then
  redis.call('SET', KEYS[8], instance, 'PX', ARGV[5])
  redis.call('SET', KEYS[9], ARGV[6], 'PX', ARGV[5])
  redis.call('DEL', KEYS[10])
  if redis.call('EXISTS', KEYS[4]) == 1 then
    orphan = ARGV[4] .. instance
    redis.call('RENAME', KEYS[4], orphan)
    redis.call('PEXPIRE', orphan, ARGV[5])
  end
end
redis.call('DEL', KEYS[4], KEYS[6])
if ARGV[3] == '1' then
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
else
  redis.call('DEL', KEYS[3])
  redis.call('PUBLISH', KEYS[5], ARGV[2])
end
return {instance, orphan, wills}`;

// Joins under a node id: clears the stale route table and inbox of a previous holder, unless
// that holder (a dead instance no survivor removed yet) left an inbox and ARGV[4] = '1': it
// is renamed as the removal would (ARGV[3] .. instance) for this node to read. Then the node
// is a member, with an empty inbox (forwards append only to an existing one). Returns
// {previous instance, orphan key} ('' for none).
export const JOIN = `${MAKE_INBOX}
local previous = redis.call('HGET', KEYS[4], ARGV[1])
if not previous then previous = '' end
local orphan = ''
if ARGV[4] == '1' and previous ~= '' and previous ~= ARGV[2] and redis.call('EXISTS', KEYS[2]) == 1 then
  orphan = ARGV[3] .. previous
  redis.call('RENAME', KEYS[2], orphan)
  redis.call('PEXPIRE', orphan, ARGV[5])
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
makeInbox(KEYS[2])
return {previous, orphan}`;

// Announces a departure unless the node id has a lease again (a node that was only slow and
// renewed it, or a new node that claimed the id): a late announcement would drop its routes
// on every node after they had read them again. The route table kept for nodes that join
// during the recovery (REMOVE_TRACES) goes with it.
export const ANNOUNCE_LEFT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[3])
return redis.call('PUBLISH', KEYS[2], ARGV[1])`;

// Ends the recovery of a dead instance (ARGV[1]) if `recovering:<id>` (KEYS[1]) still names
// it: its recoverer (KEYS[2]) and the set of client ids adopted from it (KEYS[3]) go with it.
export const END_RECOVERY = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])`;

// Takes over the recovery of a dead node from its recoverer (ARGV[1], `<id>/<instance>`),
// which died too: only while that instance (ARGV[5]) no longer holds its lease (KEYS[1]) and
// `recoverer:<id>` (KEYS[2]) still names it, so one survivor only. The recovery's keys
// (`recovering:<id>` KEYS[3], `adopted:<id>` KEYS[4], the route table KEYS[5], the renamed
// inbox ARGV[4] .. instance) get a fresh expiry (ARGV[3] ms). Returns {dead instance,
// renamed inbox ('' when gone), client ids adopted from it so far (none when `adopted:<id>`
// is not a set: not written by a node)}, else 0.
export const TAKE_OVER_RECOVERY = `
if redis.call('GET', KEYS[1]) == ARGV[5] then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local instance = redis.call('GET', KEYS[3])
if not instance then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
redis.call('PEXPIRE', KEYS[5], ARGV[3])
local orphan = ARGV[4] .. instance
if redis.call('PEXPIRE', orphan, ARGV[3]) == 0 then orphan = '' end
local adopted = {}
if redis.call('TYPE', KEYS[4])['ok'] == 'set' then adopted = redis.call('SMEMBERS', KEYS[4]) end
return {instance, orphan, adopted}`;

// Deletes a will record of `orphan-wills:<id>` (KEYS[1]): field ARGV[1], only while it is the
// record ARGV[2] (a newer will of the same client id that came meanwhile stays).
export const DROP_WILL = `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])`;
