/** Runs the BrokerStore contract against every implementation: memory, SQLite (three modes), Redis. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { MemoryStore, RedisStore, SqliteStore } from '../../src/storage/index.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { runDurableContract } from './durable-contract.js';
import { type MakeStore, runStoreContract, type StoreFixture } from './store-contract.js';

runStoreContract('memory', async (): Promise<StoreFixture> => {
  const store = new MemoryStore();
  await store.open();
  return { store, cleanup: () => store.close() };
});

for (const durability of ['fsync', 'batched', 'none'] as const) {
  runStoreContract(`sqlite (${durability})`, async (): Promise<StoreFixture> => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pipit-store-'));
    const open = async () => {
      const s = new SqliteStore({ dataDir, durability, batchIntervalMs: 5 });
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
      cleanup: async () => {
        await current.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  });
}

/*
 * The Redis store against a real redis-server (appendonly, appendfsync always), one per
 * file; each fixture has its own key prefix. A second server runs the durable section again,
 * killing redis-server (SIGKILL) between close and reopen: what was acknowledged survives
 * a Redis restart through its append-only file.
 */
let redis: RedisServer | undefined;
let restarted: RedisServer | undefined;
let fixtures = 0;
before(async () => {
  redis = await startRedisServer();
  restarted = await startRedisServer();
});
after(async () => {
  await redis?.destroy();
  await restarted?.destroy();
});

function redisFixture(server: () => RedisServer | undefined, restart: boolean): MakeStore {
  return async () => {
    const running = server();
    if (running === undefined) throw new Error('redis-server did not start');
    const prefix = `contract${++fixtures}:`;
    const open = async () => {
      const s = new RedisStore({ url: running.url, prefix });
      await s.open();
      return s;
    };
    let current = await open();
    return {
      store: current,
      reopen: async () => {
        await current.close();
        if (restart) {
          await running.kill();
          await running.start();
        }
        current = await open();
        return current;
      },
      cleanup: () => current.close(),
      fences: {
        key: (name) => `${prefix}${name}`,
        set: async (key, value) => {
          if (value === undefined) await current.client.del(key);
          else await current.client.set(key, value);
        },
      },
    };
  };
}

runStoreContract(
  'redis',
  redisFixture(() => redis, false),
);
describe('BrokerStore contract: redis, redis-server killed (SIGKILL) and restarted on reopen', () => {
  describe('across a reopen', () => runDurableContract(redisFixture(() => restarted, true)));
});
