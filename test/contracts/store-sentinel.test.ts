/**
 * The BrokerStore contract against the Redis store reached through Redis Sentinel (a real
 * master, replica and sentinel; `sentinels` + the master name from the URL's host), each
 * fixture under its own key prefix.
 */
import { after, before } from 'node:test';
import { RedisStore } from '../../src/storage/index.js';
import { SentinelFixture } from '../cluster/sentinel-fixture.js';
import { runStoreContract, type StoreFixture } from './store-contract.js';

let sentinel: SentinelFixture | undefined;
let fixtures = 0;
before(async () => {
  sentinel = await SentinelFixture.start();
});
after(async () => {
  await sentinel?.stop();
});

runStoreContract('redis through Sentinel', async (): Promise<StoreFixture> => {
  const running = sentinel;
  if (running === undefined) throw new Error('the sentinel did not start');
  const prefix = `sentinel${++fixtures}:`;
  const open = async () => {
    const s = new RedisStore({
      url: `redis://${running.name}`,
      sentinels: running.sentinels,
      prefix,
    });
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
