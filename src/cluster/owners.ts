/**
 * The owner keys as a whole, read when a node starts on a store it shares with the other
 * nodes: which client ids a live peer holds (their sessions stay in the store for that peer,
 * not restored here), and this node's claim of the sessions it restored.
 */
import { type RedisClient, scanKeys } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';

/** Owner keys read per SCAN step and per MGET. */
const PAGE = 1000;

/** What takeover and the recovery of a dead node's sessions need of membership. */
export interface NodeIdentity {
  readonly nodeId: number;
  readonly instance: string;
  /** True while `nodeId`'s lease is held by `instance`. */
  isLive(nodeId: number, instance: string): Promise<boolean>;
  /**
   * True while `instance` of node `nodeId` is dead and not yet removed: its sessions are for
   * the survivor that removes it, which delivers them what its inbox held (dead-node-recovery.ts).
   */
  awaitsRecovery(nodeId: number, instance: string): Promise<boolean>;
  /** The live peers as of the last heartbeat (free-claim-gate.ts waits for their checks). */
  peers?(): Iterable<number>;
}

/** True while node `nodeId`'s lease is held by `instance`. */
export type LivenessCheck = (nodeId: number, instance: string) => Promise<boolean>;

/** What {@link clientsHeldByPeers} found. */
export interface OwnerScan {
  /** Client ids whose owner key names a live node other than this one. */
  readonly held: Set<string>;
  /** The owner key's value of every other client id that has one (a dead node, or this one). */
  readonly seen: Map<string, string>;
}

// Takes an owner key if it still has the value read before (ARGV[1]; '' for none).
const CLAIM_IF_UNCHANGED = `
local v = redis.call('GET', KEYS[1])
if (not v and ARGV[1] == '') or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
return 0`;

/** The client ids whose owner key names a live node other than `selfNodeId`. */
export async function clientsHeldByPeers(
  redis: RedisClient,
  keys: ClusterKeys,
  selfNodeId: number,
  isLive: LivenessCheck,
): Promise<OwnerScan> {
  const held = new Set<string>();
  const seen = new Map<string, string>();
  const liveness = new Map<string, Promise<boolean>>();
  const ownerPrefix = keys.owner('');
  const pattern = `${escapeGlob(ownerPrefix)}*`;
  await scanKeys(redis, pattern, PAGE, async (found) => {
    const values = await redis.mget(...found);
    for (let i = 0; i < found.length; i++) {
      const value = values[i] ?? null;
      const owner = parseOwner(value);
      if (owner === undefined) continue;
      const clientId = found[i]!.slice(ownerPrefix.length);
      let live = liveness.get(value!);
      if (live === undefined) {
        live =
          owner.nodeId === selfNodeId
            ? Promise.resolve(false)
            : isLive(owner.nodeId, owner.instance);
        liveness.set(value!, live);
      }
      if (await live) held.add(clientId);
      else seen.set(clientId, value!);
    }
  });
  return { held, seen };
}

/** The client ids whose owner key names node `nodeId` (any instance), with that value. */
export async function ownedByNode(
  redis: RedisClient,
  keys: ClusterKeys,
  nodeId: number,
): Promise<Map<string, string>> {
  const owned = new Map<string, string>();
  const ownerPrefix = keys.owner('');
  const pattern = `${escapeGlob(ownerPrefix)}*`;
  await scanKeys(redis, pattern, PAGE, async (found) => {
    const values = await redis.mget(...found);
    for (let i = 0; i < found.length; i++) {
      const value = values[i] ?? null;
      if (parseOwner(value)?.nodeId === nodeId) {
        owned.set(found[i]!.slice(ownerPrefix.length), value as string);
      }
    }
  });
  return owned;
}

/**
 * Writes `ownerValue` as the owner of each client id in `clientIds` whose owner key still has
 * the value `seen` recorded (none when it records none): one round trip. Returns the client
 * ids another node claimed meanwhile.
 */
export async function claimOwners(
  redis: RedisClient,
  keys: ClusterKeys,
  clientIds: readonly string[],
  seen: ReadonlyMap<string, string>,
  ownerValue: string,
): Promise<string[]> {
  if (clientIds.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const clientId of clientIds) {
    pipeline.eval(
      CLAIM_IF_UNCHANGED,
      1,
      keys.owner(clientId),
      seen.get(clientId) ?? '',
      ownerValue,
    );
  }
  const results = (await pipeline.exec()) ?? [];
  return clientIds.filter((_, i) => {
    const [err, taken] = results[i] ?? [null, 0];
    if (err) throw err;
    return taken !== 1;
  });
}

/**
 * Takes the owner key `key` only if it still has `previous` (null: no owner), the value a
 * claim decided on: between that read and this write another node may have taken it (the
 * survivor adopting a dead node's sessions, a client connecting on a third node), and a plain
 * SET would leave the session on two nodes at once. True if taken.
 */
export async function claimOwner(
  redis: RedisClient,
  key: string,
  previous: string | null,
  ownerValue: string,
): Promise<boolean> {
  return (await redis.eval(CLAIM_IF_UNCHANGED, 1, key, previous ?? '', ownerValue)) === 1;
}

// Takes an owner key only while it still names the previous owner (ARGV[1]).
const TAKE_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
return 0`;

// Takes an owner key (KEYS[1]) only while it still names the dead node it is adopted from
// (ARGV[1]), and adds the client id (ARGV[3]) to that node's `adopted:<id>` set (KEYS[2],
// expiring after ARGV[4] ms) in the same step: a survivor that takes the recovery over
// delivers the dead node's inbox to it even if the adopter dies right after.
// Anything but a set there (not written by a node) is replaced, so that the SADD cannot fail
// after the SET.
const ADOPT_OWNER = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'set' and kind ~= 'none' then redis.call('DEL', KEYS[2]) end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`;

/** Where an adoption is recorded: the dead node's `adopted:<id>` set and its expiry. */
export interface AdoptionRecord {
  readonly key: string;
  readonly ttlMs: number;
}

/**
 * Sets `clientId`'s owner key to `ownerValue` only while it names `previous`, recording the
 * client id in `record` (adopted from a dead node) in the same step. True if taken.
 */
export async function adoptOwner(
  redis: RedisClient,
  keys: ClusterKeys,
  clientId: string,
  [previous, ownerValue]: [string, string],
  record: AdoptionRecord | undefined,
): Promise<boolean> {
  if (record === undefined) return takeOwner(redis, keys.owner(clientId), previous, ownerValue);
  const args = [previous, ownerValue, clientId, String(record.ttlMs)];
  return (await redis.eval(ADOPT_OWNER, 2, keys.owner(clientId), record.key, ...args)) === 1;
}

/** Deletes the owner key (KEYS[1]) only when it still names us (ARGV[1]). */
export const RELEASE_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Sets the owner key `key` to `ownerValue` only while it names `previous`. True if taken. */
export async function takeOwner(
  redis: RedisClient,
  key: string,
  previous: string,
  ownerValue: string,
): Promise<boolean> {
  return (await redis.eval(TAKE_OWNER, 1, key, previous, ownerValue)) === 1;
}

/** Deletes the owner key `key` only while it still names `ownerValue`. */
export async function releaseOwner(
  redis: RedisClient,
  key: string,
  ownerValue: string,
): Promise<unknown> {
  return redis.eval(RELEASE_OWNER, 1, key, ownerValue);
}

/** `text` with Redis glob characters escaped (a key prefix is matched literally). */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** `<node id>/<instance>` as an owner, or undefined. */
export function parseOwner(value: string | null): { nodeId: number; instance: string } | undefined {
  if (value === null) return undefined;
  const slash = value.indexOf('/');
  const nodeId = Number(value.slice(0, slash));
  if (slash < 0 || !Number.isInteger(nodeId)) return undefined;
  return { nodeId, instance: value.slice(slash + 1) };
}

/**
 * This node as takeover and recovery see it (`nodeId` read when asked: known after start).
 * Live: the node's lease holds the instance. Awaiting recovery: the lease is gone and the
 * `instances` hash still names the instance (no survivor removed it yet), or
 * `recovering:<id>` does (the survivor that removed it recovers its sessions).
 */
export function nodeIdentity(
  redis: RedisClient,
  keys: ClusterKeys,
  instance: string,
  nodeId: () => number,
  peers?: () => Iterable<number>,
): NodeIdentity {
  const isLive = async (node: number, held: string): Promise<boolean> =>
    (await redis.get(keys.lease(node))) === held;
  return {
    get nodeId() {
      return nodeId();
    },
    instance,
    isLive,
    ...(peers && { peers }),
    awaitsRecovery: async (node, held) => {
      const [dead, recovering] = await Promise.all([
        redis.hget(keys.instances, String(node)),
        redis.get(keys.recovering(node)),
      ]);
      return (dead === held || recovering === held) && !(await isLive(node, held));
    },
  };
}

/** Deletes the owner keys of `clientIds` that still name `ownerValue` (one round trip). */
export async function releaseOwners(
  redis: RedisClient,
  keys: ClusterKeys,
  clientIds: readonly string[],
  ownerValue: string,
): Promise<void> {
  if (clientIds.length === 0) return;
  const pipeline = redis.pipeline();
  for (const clientId of clientIds) {
    pipeline.eval(RELEASE_OWNER, 1, keys.owner(clientId), ownerValue);
  }
  await pipeline.exec();
}
