/**
 * Opens `<dataDir>/pipit.db`: creates the directory, sets the pragmas, checks the file is a
 * Pipit database this build can read and migrates it. Every bad condition becomes an Error
 * whose message names the path and says what to do.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Durability } from '../../ports/index.js';
import { APPLICATION_ID, MIGRATIONS, type Migration } from './schema.js';

/** Name of the database file inside the data directory. */
export const DB_FILE_NAME = 'pipit.db';

/** What `openDatabase` found and did. @internal */
export interface OpenedDatabase {
  db: Database.Database;
  file: string;
  /** Schema version before migrating (0 for a new file). */
  fromVersion: number;
  /** Schema version now. */
  version: number;
}

/** An error from opening the store; `code` tells the kind, the message what to do. */
export class StoreOpenError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'STORE_DIR'
      | 'STORE_CORRUPT'
      | 'STORE_NEWER'
      | 'STORE_FOREIGN'
      | 'STORE_BUSY'
      | 'STORE_IO',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
}

/** Opens (creating and migrating as needed) the database in `dataDir`. @internal */
export function openDatabase(
  dataDir: string,
  durability: Durability,
  migrations: readonly Migration[] = MIGRATIONS,
): OpenedDatabase {
  prepareDirectory(dataDir);
  const file = join(dataDir, DB_FILE_NAME);
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    const fromVersion = checkFile(db, file, migrations);
    configure(db, durability);
    const version = migrate(db, fromVersion, migrations);
    return { db, file, fromVersion, version };
  } catch (err) {
    db?.close();
    throw explain(err, file);
  }
}

function prepareDirectory(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreOpenError(
      `Cannot create the data directory ${dataDir} (${(err as Error).message}): ` +
        'check the path and its permissions, or choose another data directory.',
      'STORE_DIR',
      { cause: err },
    );
  }
  try {
    if (!statSync(dataDir).isDirectory()) throw new Error('not a directory');
    accessSync(dataDir, constants.W_OK | constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new StoreOpenError(
      `The data directory ${dataDir} is not a writable directory (${(err as Error).message}): ` +
        'fix its permissions or choose another data directory.',
      'STORE_DIR',
      { cause: err },
    );
  }
  const file = join(dataDir, DB_FILE_NAME);
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    // No file yet: it is created.
  }
  if (isDir) {
    throw new StoreOpenError(
      `${file} is a directory, not a database file: move it away.`,
      'STORE_DIR',
    );
  }
}

/** Returns the file's schema version after checking it is ours and not from a newer build. */
function checkFile(db: Database.Database, file: string, migrations: readonly Migration[]): number {
  // EXCLUSIVE before WAL: the WAL index then lives in heap memory (no -shm file), and the
  // lock held until close keeps a second broker off the same data.
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('busy_timeout = 200');
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  const tables = db
    .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'")
    .get() as { n: number };
  const latest = migrations[migrations.length - 1].version;
  if (appId !== APPLICATION_ID && (appId !== 0 || tables.n > 0)) {
    throw new StoreOpenError(
      `${file} is an SQLite database but not a Pipit one (application_id ${appId}): ` +
        'move it away or choose another data directory.',
      'STORE_FOREIGN',
    );
  }
  if (version > latest) {
    throw new StoreOpenError(
      `${file} was written by a newer Pipit (schema ${version}, this build reads up to ${latest}): ` +
        'upgrade Pipit or move the file away.',
      'STORE_NEWER',
    );
  }
  return version;
}

function configure(db: Database.Database, durability: Durability): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'none' ? 'OFF' : 'FULL'}`);
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -32768'); // 32 MiB
  db.pragma('journal_size_limit = 67108864'); // trim the WAL back to 64 MiB after checkpoints
  db.pragma('foreign_keys = OFF');
}

function migrate(db: Database.Database, from: number, migrations: readonly Migration[]): number {
  let version = from;
  for (const m of migrations) {
    if (m.version <= version) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    })();
    version = m.version;
  }
  return version;
}

/** Turns an SQLite error at open into one that names the file and the remedy. @internal */
export function explain(err: unknown, file: string): Error {
  if (err instanceof StoreOpenError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const reason = (err as Error).message;
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreOpenError(
      `${file} is not a valid Pipit database (${reason}): it is corrupt or not an SQLite file. ` +
        'Move it away (Pipit then starts with an empty store) or restore it from a backup.',
      'STORE_CORRUPT',
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreOpenError(
      `${file} is in use by another process (${reason}): stop the other Pipit or choose another data directory.`,
      'STORE_BUSY',
      { cause: err },
    );
  }
  return new StoreOpenError(
    `Cannot open ${file} (${code || 'error'}: ${reason}): check the file, its permissions and the free disk space.`,
    'STORE_IO',
    { cause: err },
  );
}
