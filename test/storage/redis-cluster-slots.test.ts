/**
 * The Redis store's key layout on a real 3-master Redis Cluster: one client's keys hash to
 * one slot (also with '{' and '}' in the client id), and every Lua script of the store runs
 * there with the keys the store gives it (no CROSSSLOT), under the untagged prefix of one
 * server. On a Redis Cluster the store runs under a hash-tagged prefix, all in one slot
 * (test/contracts/store-redis-cluster.test.ts; docs/cluster.md, "Redis Cluster").
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

  it('runs every store script with the keys the store passes it, without CROSSSLOT', async () => {
    const k = keys.client('a{b}c');
    assert.deepEqual(await script('pipitDequeue')(k.queue, k.queueMeta, '10'), []);
    assert.equal(
      await script('pipitPutInflight')(k.inflight, k.queueMeta, '1', '42', 'p', 'd'),
      null,
    );
    assert.equal(await script('pipitDeleteInflight')(k.inflight, '1'), 42);
    assert.deepEqual(await script('pipitDeleteQueue')(k.queue, k.queueMeta, k.inflight), []);
    assert.equal(await script('pipitUnref')(keys.message(42), '1'), 0);
    assert.equal(await script('pipitSetOwner')(k.session, '1', 'alice'), 0);
    assert.equal(await script('pipitRaiseLastId')(keys.meta, '5'), 0);
    assert.equal(await cluster.hget(keys.meta, 'lastId'), '5');
    assert.equal(
      await script('pipitDeleteRetainedIfSame')(keys.retained, keys.retainedTopics, 't', 'x'),
      0,
    );
  });

  it('spreads messages over the masters (their keys are in slots of their own)', async () => {
    const slots = new Set<number>();
    for (let id = 1; id <= 50; id++) {
      slots.add(Number(await cluster.call('CLUSTER', 'KEYSLOT', keys.message(id))));
    }
    const owners = new Set<string>();
    const ranges = (await cluster.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    for (const slot of slots) {
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      owners.add(String(range?.[2][1]));
    }
    assert.equal(owners.size, 3, 'fifty message keys land on all three masters');
  });
});
