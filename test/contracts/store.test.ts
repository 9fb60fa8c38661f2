/** Runs the BrokerStore contract against every implementation. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, SqliteStore } from '../../src/storage/index.js';
import { runStoreContract, type StoreFixture } from './store-contract.js';

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
