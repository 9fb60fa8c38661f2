/**
 * The BrokerStore contract against the Redis store on a real 3-master Redis Cluster (seed
 * nodes in `nodes`), each fixture under its own hash-tagged key prefix (`{rc<n>}:`): every
 * key of a fixture in one slot, the fixtures spread over the masters.
 */
import { after, before } from 'node:test';
import { RedisStore } from '../../src/storage/index.js';
import { RedisClusterFixture } from '../cluster/redis-cluster-fixture.js';
import { runStoreContract, type StoreFixture } from './store-contract.js';

let redisCluster: RedisClusterFixture | undefined;
let fixtures = 0;
before(async () => {
  redisCluster = await RedisClusterFixture.start();
});
after(async () => {
  await redisCluster?.stop();
});

runStoreContract('redis on a Redis Cluster', async (): Promise<StoreFixture> => {
  const running = redisCluster;
  if (running === undefined) throw new Error('the Redis Cluster did not start');
  const prefix = `{rc${++fixtures}}:`;
  const open = async () => {
    const s = new RedisStore({ url: 'redis://', nodes: running.nodes, prefix });
    await s.open();
    return s;
  };
  let current = await open();
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await open();
      return current;
    },
    cleanup: () => current.close(),
    fences: {
      key: (name: string) => `${prefix}${name}`,
      set: async (key: string, value: string | undefined) => {
        if (value === undefined) await current.client.del(key);
        else await current.client.set(key, value);
      },
    },
  };
});
