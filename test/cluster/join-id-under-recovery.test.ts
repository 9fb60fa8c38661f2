/**
 * A node that joins does not claim the node id of a dead node a survivor still recovers
 * (`recovering:<id>`). Until the survivor has routed the adopted sessions, the dead node's
 * routes stay and the other nodes forward to that id's inbox; a new holder of the id made the
 * inbox again and read it as its own, dropping what it held no session for: acknowledged
 * messages lost (the crash loop lost 2 QoS 2 messages so, when a restarted node drew the id
 * it had just died with, right after its removal). A free id is taken instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { NODE_ID_COUNT } from '../../src/cluster/node-id-claim.js';
import type { TestBroker } from '../helpers/broker.js';
import { startNode } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

/** The id under recovery, and the only other id with no lease. */
const RECOVERING = 7;
const FREE = 9;
/** A key prefix of this test's own: nothing else on its redis-server can take the free id. */
const PREFIX = 'jiur:';

describe('cluster: a joining node and the id of a dead node under recovery', () => {
  let redis: RedisFixture;
  let node: (TestBroker & { nodeId: number }) | undefined;

  before(async () => {
    redis = await RedisFixture.start();
  });

  after(async () => {
    await node?.close();
    await redis.stop();
  });

  it('skips the id a survivor recovers and claims a free one', async () => {
    const keys = new ClusterKeys(PREFIX);
    // Every other id is held by a live lease (of no node in `nodes`: nothing to recover).
    for (let id = 0; id < NODE_ID_COUNT; id++) {
      if (id === RECOVERING || id === FREE) continue;
      await redis.redis.set(keys.lease(id), `other-${id}`, 'PX', 60_000);
    }
    await redis.redis.set(keys.recovering(RECOVERING), 'dead-instance', 'PX', 60_000);
    node = await startNode(redis, { cluster: { url: redis.url, keyPrefix: PREFIX } });
    assert.equal(node.nodeId, FREE);
    assert.equal(await redis.redis.exists(keys.inbox(RECOVERING)), 0, 'no inbox made for it');
  });
});
