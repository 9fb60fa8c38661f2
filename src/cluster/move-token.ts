/**
 * The new node's word that it still waits for a session move (session-move.ts), so that the
 * old node hands the owner key over only to a node that will land the session.
 *
 * Before it asks for the release, the new node N sets `moving:<client id>` to its owner value
 * (with an expiry a little past its wait, for a node that dies waiting); when it gives up (no
 * answer in time) it deletes the key if it is still its own. The old node S hands the owner
 * key over in one script: only while the owner key names S (as before) and `moving` names N,
 * deleting `moving` with it. Both are single Redis steps on the same slot (the keys share the
 * cluster's hash tag), so exactly one wins: either S handed the key over first (N then finds
 * the owner key its own and lands the session with what it parked), or N withdrew first (S
 * keeps the owner key and the session, offline and routed: what is published meanwhile is
 * queued for it, and its client finds it on its next connect, on any node). The script also
 * requires N's lease to name N's instance: a new node killed while the old node ran its route
 * barrier (the barrier excuses a node whose lease is gone) would otherwise get the key after
 * its death, with no survivor bound to adopt the session (the survivor's scan of owner keys
 * may have run before): S keeps the session, routed, as when N gave up. Handed over while N's
 * lease stands, the key is there before any survivor removes N, so the survivor adopts it.
 *
 * The hold before it has its own word, one key per asking node (`asking:<client id>:<owner>`,
 * so that a third node's takeover does not overwrite the word of a move under way): set before
 * the hold is asked for, deleted once it is answered or given up on (before the client is
 * refused). The old node acts on a hold only while that key exists and the asking node's lease
 * names its instance (one script), so a hold it reads after the asking node gave up, or died,
 * closes nothing: the client may have connected to it again meanwhile.
 */
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import { parseOwner } from './owners.js';

// Hands the owner key (KEYS[1]) from ARGV[1] to ARGV[2] while `moving` (KEYS[2]) names ARGV[2]
// and the new node's lease (KEYS[3]) names its instance (ARGV[3]).
const HAND_OVER = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return -1 end
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -2 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1`;

// 1 while the asking word (KEYS[1]) stands and the asking node's lease (KEYS[2]) names its
// instance (ARGV[1]).
const HOLD_AWAITED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
return 1`;

// Deletes `moving` (KEYS[1]) only while it names the waiting node (ARGV[1]).
const WITHDRAW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * What {@link handOwnerOver} did: `handed` (the owner key is the new node's now), `notOurs`
 * (the owner key no longer named this node), `notWaited` (the new node gave up: nothing
 * changed, the session stays here), `gone` (the new node's lease is gone: it died; nothing
 * changed, the session stays here).
 */
export type HandOverResult = 'handed' | 'notOurs' | 'notWaited' | 'gone';

/** Records that `ownerValue` waits for `clientId`'s session, for `ttlMs` at most. */
export async function awaitMove(
  redis: RedisClient,
  keys: ClusterKeys,
  clientId: string,
  ownerValue: string,
  ttlMs: number,
): Promise<void> {
  await redis.set(keys.moving(clientId), ownerValue, 'PX', ttlMs);
}

/**
 * `ownerValue` no longer waits for `clientId`'s session. Once this resolved, no old node can
 * hand it the owner key any more (it may have done so before: read the owner key after).
 */
export async function withdrawMove(
  redis: RedisClient,
  keys: ClusterKeys,
  clientId: string,
  ownerValue: string,
): Promise<void> {
  await redis.eval(WITHDRAW, 1, keys.moving(clientId), ownerValue);
}

/**
 * Hands `clientId`'s owner key from `from` to `to` only while `to` still waits for it and is
 * alive (its lease names its instance).
 */
export async function handOwnerOver(
  redis: RedisClient,
  keys: ClusterKeys,
  clientId: string,
  [from, to]: [string, string],
): Promise<HandOverResult> {
  const node = parseOwner(to);
  if (node === undefined) return 'gone'; // not an owner value: no node to hand it to
  const result = await redis.eval(
    HAND_OVER,
    3,
    keys.owner(clientId),
    keys.moving(clientId),
    keys.lease(node.nodeId),
    from,
    to,
    node.instance,
  );
  if (result === 1) return 'handed';
  return result === -1 ? 'notWaited' : result === -2 ? 'gone' : 'notOurs';
}

/** Records that `ownerValue` waits for the answer to its hold of `clientId`, for `ttlMs` at most. */
export async function awaitHold(
  redis: RedisClient,
  keys: ClusterKeys,
  clientId: string,
  ownerValue: string,
  ttlMs: number,
): Promise<void> {
  await redis.set(keys.asking(clientId, ownerValue), '1', 'PX', ttlMs);
}

/** `ownerValue` no longer waits for the answer to its hold of `clientId`. */
export async function withdrawHold(
  redis: RedisClient,
  keys: ClusterKeys,
  clientId: string,
  ownerValue: string,
): Promise<void> {
  await redis.del(keys.asking(clientId, ownerValue));
}

/**
 * True while `ownerValue` still waits for the answer to its hold of `clientId` and is alive
 * (its lease names its instance). A node killed while it waited leaves its word behind until
 * the word expires (two waits): a hold read meanwhile, or one that waited here (behind a
 * recovery or a claim, as through a Redis failover) and acts only now, would close the
 * connection its client made since on this node and keep the session held for a release
 * that never comes (the failover soak, seed 14: six clients closed by a hold from a node dead
 * for 7 s, one of them then delivered the same QoS 2 messages from two nodes, issue #11).
 */
export async function holdAwaited(
  redis: RedisClient,
  keys: ClusterKeys,
  clientId: string,
  ownerValue: string,
): Promise<boolean> {
  const node = parseOwner(ownerValue);
  if (node === undefined) return false; // not an owner value: no node waits
  const result = await redis.eval(
    HOLD_AWAITED,
    2,
    keys.asking(clientId, ownerValue),
    keys.lease(node.nodeId),
    node.instance,
  );
  return result === 1;
}
