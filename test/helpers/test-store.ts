/**
 * Which store the behaviour suites (test/core, test/integration) run against:
 * `PIPIT_TEST_STORE=none|memory|sqlite|redis` (default none). `scripts/run-tests.mjs` runs those
 * two folders once per store, so every behaviour test holds with no store, with the memory
 * store and with the SQLite store. A test that is about one store passes its own
 * (`store`, `persistence`) and keeps it.
 *
 * SQLite runs with durability 'fsync' in a fresh temporary directory per broker (removed when
 * the test process exits): acknowledgements then really wait for a commit, as in production.
 * On this machine's disk that costs about as much as 'none' for these small tests.
 *
 * Redis runs against the redis-server at `PIPIT_TEST_REDIS_URL` (scripts/run-tests.mjs starts
 * one for a run with PIPIT_TEST_STORE=redis), each broker's keys under a prefix of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerStore } from '../../src/ports/index.js';
import { MemoryStore, RedisStore, SqliteStore } from '../../src/storage/index.js';

/** The stores a behaviour suite can run with. */
export type TestStoreKind = 'none' | 'memory' | 'sqlite' | 'redis';

/** The store this test process runs its behaviour suites with (PIPIT_TEST_STORE). */
export function testStoreKind(): TestStoreKind {
  const kind = process.env.PIPIT_TEST_STORE ?? 'none';
  if (kind === 'none' || kind === 'memory' || kind === 'sqlite' || kind === 'redis') return kind;
  throw new Error(`PIPIT_TEST_STORE must be none, memory, sqlite or redis, not ${kind}`);
}

/** Every temporary directory made in this process, removed at exit. */
const tempDirs: string[] = [];

process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A new, empty store of the kind PIPIT_TEST_STORE names (not opened); undefined for none. */
export function createTestStore(): BrokerStore | undefined {
  switch (testStoreKind()) {
    case 'none':
      return undefined;
    case 'memory':
      return new MemoryStore();
    case 'sqlite': {
      const dataDir = mkdtempSync(join(tmpdir(), 'pipit-test-store-'));
      tempDirs.push(dataDir);
      return new SqliteStore({ dataDir, durability: 'fsync' });
    }
    case 'redis': {
      const url = process.env.PIPIT_TEST_REDIS_URL;
      if (url === undefined) {
        throw new Error(
          'PIPIT_TEST_STORE=redis needs PIPIT_TEST_REDIS_URL (scripts/run-tests.mjs starts a redis-server)',
        );
      }
      return new RedisStore({ url, prefix: `t${process.pid}-${++redisStores}:` });
    }
  }
}

/** Redis stores made in this process (each broker gets a key prefix of its own). */
let redisStores = 0;
