/**
 * Makes node ids members as a node's join does (membership.ts runs the JOIN script: in
 * `nodes` and `instances`, with an empty inbox stream), for tests that drive an Outbox
 * without a node: a forward is written only to an inbox that exists (outbox.ts).
 */
import type { Redis } from 'ioredis';
import type { ClusterKeys } from '../../src/cluster/keys.js';
import { JOIN } from '../../src/cluster/membership-scripts.js';

/** Joins each of `nodeIds` under instance `test-<id>` (no orphan kept). */
export async function joinAs(redis: Redis, keys: ClusterKeys, ...nodeIds: number[]): Promise<void> {
  for (const id of nodeIds) {
    await redis.eval(
      JOIN,
      4,
      keys.routes(id),
      keys.inbox(id),
      keys.members,
      keys.instances,
      String(id),
      `test-${id}`,
      keys.orphan(id, ''),
      '0',
      '60000',
    );
  }
}
