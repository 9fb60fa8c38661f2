/** Helpers for the SQLite store tests: temp data directories and bounded waits. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore, type SqliteStoreOptions } from '../../src/storage/index.js';

/** Opens a SqliteStore in a fresh temp dir; `done()` closes it and removes the dir. */
export async function tempStore(
  options: Omit<SqliteStoreOptions, 'dataDir'> = {},
): Promise<{ store: SqliteStore; dataDir: string; done: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pipit-sqlite-'));
  const store = new SqliteStore({ dataDir, ...options });
  await store.open();
  return {
    store,
    dataDir,
    done: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits (one event-loop turn at a time) until `cond()` holds; fails after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** One turn of the event loop (lets a setImmediate flush run). */
export function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
