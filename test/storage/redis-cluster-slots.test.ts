/**
 * The Redis store's key layout on a real 3-master Redis Cluster: one client's keys hash to
 * one slot (also with '{' and '}' in the client id), under the untagged prefix of one server;
 * and every Lua script of the store runs there under the hash-tagged prefix a Redis Cluster
 * store has (all in one slot: test/contracts/store-redis-cluster.test.ts; docs/cluster.md,
 * "Redis Cluster"), including the message hashes the scripts reach by names they build.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from 'ioredis';
import { RedisKeys } from '../../src/storage/redis/redis-keys.js';
import { SCRIPTS } from '../../src/storage/redis/redis-scripts.js';
import { RedisClusterFixture } from '../cluster/redis-cluster-fixture.js';

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

describe('Redis store keys and scripts on a 3-master Redis Cluster', () => {
  let fixture: RedisClusterFixture;
  let cluster: Cluster;
  const keys = new RedisKeys('pipit:');
  /** The keys of a store on a Redis Cluster: every one in the slot of the tag `pipit`. */
  const tagged = new RedisKeys('{pipit}:');

  before(async () => {
    fixture = await RedisClusterFixture.start();
    cluster = fixture.client();
    for (const [name, { numberOfKeys, lua }] of Object.entries(SCRIPTS)) {
      cluster.defineCommand(name, { numberOfKeys, lua });
    }
  });

  after(async () => {
    cluster?.disconnect();
    await fixture?.stop();
  });

  function script(name: keyof typeof SCRIPTS): ScriptCall {
    return (cluster as unknown as Record<string, ScriptCall>)[name]!.bind(cluster);
  }

  it('puts every key of one client in one slot, whatever its client id holds', async () => {
    for (const clientId of ['plain', 'a{b}c', '}x{', 'sensor/ü/1']) {
      const slots = new Set<number>();
      for (const key of Object.values(keys.client(clientId))) {
        slots.add(Number(await cluster.call('CLUSTER', 'KEYSLOT', key)));
      }
      assert.equal(slots.size, 1, `the keys of client "${clientId}" share a slot`);
    }
  });

  it('runs every store script under the tagged prefix, releasing and collecting message hashes, without CROSSSLOT', async () => {
    const k = tagged.client('a{b}c');
    const { released, messagePrefix } = tagged;
    // Message 42 referenced by one queue entry and one inflight entry.
    await cluster.hset(tagged.message(42), 'b', 'body', 'r', 2);
    await cluster.zadd(k.queue, 1, JSON.stringify({ n: 1, b: 4, m: 42 }));
    const put = script('pipitPutInflight');
    assert.equal(
      await put(k.inflight, k.queueMeta, released, '1', '42', 'p', 'd', messagePrefix),
      0,
    );
    assert.equal(
      await script('pipitDequeue')(k.queue, k.queueMeta, released, '10', messagePrefix),
      1,
    );
    assert.equal(await cluster.hget(tagged.message(42), 'r'), '1');
    assert.equal(await script('pipitDeleteInflight')(k.inflight, released, '1', messagePrefix), 1);
    assert.deepEqual(await cluster.smembers(released), ['42']);
    assert.equal(await script('pipitCollect')(released, messagePrefix), 1);
    assert.equal(await cluster.exists(tagged.message(42), released), 0);
    const deleteQueue = script('pipitDeleteQueue');
    assert.equal(await deleteQueue(k.queue, k.queueMeta, k.inflight, released, messagePrefix), 0);
    assert.equal(await script('pipitSetOwner')(k.session, '1', 'alice'), 0);
    assert.equal(await script('pipitRaiseLastId')(tagged.meta, '5'), 0);
    assert.equal(await cluster.hget(tagged.meta, 'lastId'), '5');
    assert.equal(
      await script('pipitDeleteRetainedIfSame')(tagged.retained, tagged.retainedTopics, 't', 'x'),
      0,
    );
  });
});
