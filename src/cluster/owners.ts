/**
 * The owner keys as a whole, read when a node starts on a store it shares with the other
 * nodes: which client ids a live peer holds (their sessions stay in the store for that peer,
 * not restored here), and this node's claim of the sessions it restored.
 */
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.js';

/** Owner keys read per SCAN step and per MGET. */
const PAGE = 1000;

/** True while node `nodeId`'s lease is held by `instance`. */
export type LivenessCheck = (nodeId: number, instance: string) => Promise<boolean>;

/** The client ids whose owner key names a live node other than `selfNodeId`. */
export async function clientsHeldByPeers(
  redis: Redis,
  keys: ClusterKeys,
  selfNodeId: number,
  isLive: LivenessCheck,
): Promise<Set<string>> {
  const held = new Set<string>();
  const liveness = new Map<string, Promise<boolean>>();
  const ownerPrefix = keys.owner('');
  const pattern = `${escapeGlob(ownerPrefix)}*`;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', PAGE);
    cursor = next;
    if (found.length === 0) continue;
    const values = await redis.mget(...found);
    for (let i = 0; i < found.length; i++) {
      const owner = parseOwner(values[i] ?? null);
      if (owner === undefined || owner.nodeId === selfNodeId) continue;
      const value = values[i] as string;
      let live = liveness.get(value);
      if (live === undefined) {
        live = isLive(owner.nodeId, owner.instance);
        liveness.set(value, live);
      }
      if (await live) held.add(found[i]!.slice(ownerPrefix.length));
    }
  } while (cursor !== '0');
  return held;
}

/** The client ids whose owner key names node `nodeId` (any instance), with that value. */
export async function ownedByNode(
  redis: Redis,
  keys: ClusterKeys,
  nodeId: number,
): Promise<Map<string, string>> {
  const owned = new Map<string, string>();
  const ownerPrefix = keys.owner('');
  const pattern = `${escapeGlob(ownerPrefix)}*`;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', PAGE);
    cursor = next;
    if (found.length === 0) continue;
    const values = await redis.mget(...found);
    for (let i = 0; i < found.length; i++) {
      const value = values[i] ?? null;
      if (parseOwner(value)?.nodeId === nodeId) {
        owned.set(found[i]!.slice(ownerPrefix.length), value as string);
      }
    }
  } while (cursor !== '0');
  return owned;
}

/** Writes `ownerValue` as the owner of every client id in `clientIds` (one round trip). */
export async function claimOwners(
  redis: Redis,
  keys: ClusterKeys,
  clientIds: Iterable<string>,
  ownerValue: string,
): Promise<void> {
  const pipeline = redis.pipeline();
  let count = 0;
  for (const clientId of clientIds) {
    pipeline.set(keys.owner(clientId), ownerValue);
    count++;
  }
  if (count > 0) await pipeline.exec();
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
