/** Storage: implementations of the BrokerStore port. */
import type { BrokerStore, Durability, Logger } from '../ports/index.js';
import { MemoryStore } from './memory/memory-store.js';
import { RedisStore, type RedisStoreOptions } from './redis/redis-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export { MemoryStore } from './memory/memory-store.js';
export {
  checkPrefix as checkRedisPrefix,
  DEFAULT_PREFIX as DEFAULT_REDIS_PREFIX,
} from './redis/redis-keys.js';
export { RedisStore, type RedisStoreOptions } from './redis/redis-store.js';
export { checkRedisUrl } from './redis/redis-url.js';
export {
  isStoreFull,
  isStoreUnavailable,
  StoreFullError,
  StoreUnavailableError,
} from './shared/errors.js';
export { DB_FILE_NAME, StoreOpenError } from './sqlite/open-database.js';
export { SCHEMA_VERSION } from './sqlite/schema.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';

/** Which store to build: SQLite (the default) in `dataDir`, memory, or Redis at `redis.url`. */
export interface CreateStoreOptions {
  /** Default 'sqlite'. */
  kind?: 'sqlite' | 'memory' | 'redis';
  /** Required for 'sqlite'. */
  dataDir?: string;
  durability?: Durability;
  batchIntervalMs?: number;
  maxBatchOps?: number;
  logger?: Logger;
  /** Required for 'redis' (its logger is `logger`). */
  redis?: Omit<RedisStoreOptions, 'logger'>;
}

/** Builds a store (not yet opened). */
export function createStore(options: CreateStoreOptions): BrokerStore {
  const kind = options.kind ?? 'sqlite';
  if (kind === 'memory') return new MemoryStore();
  if (kind === 'redis') {
    if (options.redis === undefined) throw new Error('the Redis store needs a URL (redis.url)');
    return new RedisStore({ ...options.redis, logger: options.logger });
  }
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
