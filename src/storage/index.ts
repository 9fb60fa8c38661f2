/** Storage: implementations of the BrokerStore port. */
import type { BrokerStore, Durability, Logger } from '../ports/index.js';
import { MemoryStore } from './memory/memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export { MemoryStore } from './memory/memory-store.js';
export { isStoreFull, StoreFullError } from './shared/errors.js';
export { DB_FILE_NAME, StoreOpenError } from './sqlite/open-database.js';
export { SCHEMA_VERSION } from './sqlite/schema.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';

/** Which store to build: SQLite (the default) in `dataDir`, or memory. */
export interface CreateStoreOptions {
  /** Default 'sqlite'. */
  kind?: 'sqlite' | 'memory';
  /** Required for 'sqlite'. */
  dataDir?: string;
  durability?: Durability;
  batchIntervalMs?: number;
  maxBatchOps?: number;
  logger?: Logger;
}

/** Builds a store (not yet opened). */
export function createStore(options: CreateStoreOptions): BrokerStore {
  const kind = options.kind ?? 'sqlite';
  if (kind === 'memory') return new MemoryStore();
  if (options.dataDir === undefined || options.dataDir === '') {
    throw new Error('the SQLite store needs a data directory (dataDir)');
  }
  return new SqliteStore({
    dataDir: options.dataDir,
    durability: options.durability,
    batchIntervalMs: options.batchIntervalMs,
    maxBatchOps: options.maxBatchOps,
    logger: options.logger,
  });
}
