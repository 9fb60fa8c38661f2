/**
 * The old node's hand-over of an owner key in a session move (src/cluster/move-token.ts), on a
 * real redis-server: it goes to the new node only while that node waits (`moving:<client id>`
 * names it) and is alive (its lease names its instance). A new node killed while the old node
 * ran its route barrier (which excuses a node whose lease is gone) got the key after its death
 * before the lease check, with no survivor bound to adopt the session; the old node now keeps
 * it, routed, as when the new node gave up.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { handOwnerOver } from '../../src/cluster/move-token.js';
import { RedisFixture } from './redis-fixture.js';

const keys = new ClusterKeys('pipit:');
const OLD = '1/old-instance';
const NEW = '2/new-instance';

describe('cluster: handing an owner key over in a session move', () => {
  let redis: RedisFixture;

  before(async () => {
    redis = await RedisFixture.start();
  });

  after(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    await redis.redis.flushall();
    await redis.redis.set(keys.owner('mk'), OLD);
    await redis.redis.set(keys.moving('mk'), NEW);
  });

  it('hands the key to the new node while it waits and its lease names its instance [MQTT-3.1.4-3]', async () => {
    await redis.redis.set(keys.lease(2), 'new-instance');
    assert.equal(await handOwnerOver(redis.redis, keys, 'mk', [OLD, NEW]), 'handed');
    assert.equal(await redis.redis.get(keys.owner('mk')), NEW);
    assert.equal(await redis.redis.exists(keys.moving('mk')), 0);
  });

  it('keeps the key when the new node’s lease is gone (it died), and when another instance holds its node id', async () => {
    assert.equal(await handOwnerOver(redis.redis, keys, 'mk', [OLD, NEW]), 'gone');
    assert.equal(await redis.redis.get(keys.owner('mk')), OLD);
    await redis.redis.set(keys.lease(2), 'a-later-instance');
    assert.equal(await handOwnerOver(redis.redis, keys, 'mk', [OLD, NEW]), 'gone');
    assert.equal(await redis.redis.get(keys.owner('mk')), OLD);
    // The new node's word stays for it to withdraw (or to expire).
    assert.equal(await redis.redis.get(keys.moving('mk')), NEW);
  });

  it('keeps the key when the new node no longer waits, and when the key is not the old node’s', async () => {
    await redis.redis.set(keys.lease(2), 'new-instance');
    await redis.redis.del(keys.moving('mk'));
    assert.equal(await handOwnerOver(redis.redis, keys, 'mk', [OLD, NEW]), 'notWaited');
    assert.equal(await redis.redis.get(keys.owner('mk')), OLD);
    await redis.redis.set(keys.moving('mk'), NEW);
    await redis.redis.set(keys.owner('mk'), '3/third-instance');
    assert.equal(await handOwnerOver(redis.redis, keys, 'mk', [OLD, NEW]), 'notOurs');
    assert.equal(await redis.redis.get(keys.owner('mk')), '3/third-instance');
  });
});
