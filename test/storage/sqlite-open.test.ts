/** SQLite store at open: bad conditions give errors naming the file and the remedy; migrations. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION, SqliteStore, StoreOpenError } from '../../src/storage/index.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { MIGRATIONS, type Migration } from '../../src/storage/sqlite/schema.js';

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipit-open-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshDir(): string {
  return join(root, `d${++n}`);
}

async function openError(dataDir: string): Promise<StoreOpenError> {
  const store = new SqliteStore({ dataDir });
  const err = await store.open().then(
    () => assert.fail('open should fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StoreOpenError, String(err));
  return err;
}

describe('SqliteStore open', () => {
  test('creates the data directory (nested) and pipit.db with the current schema in WAL mode', async () => {
    const dataDir = join(freshDir(), 'a', 'b');
    const store = new SqliteStore({ dataDir });
    await store.open();
    assert.equal(store.file, join(dataDir, 'pipit.db'));
    assert.equal(store.database.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(store.database.pragma('journal_mode', { simple: true }), 'wal');
    await store.close();
  });

  test('a data directory that cannot be created: the error names it and what to do', async () => {
    const file = join(root, `file${++n}`);
    await writeFile(file, 'not a directory');
    const dataDir = join(file, 'data');
    const err = await openError(dataDir);
    assert.equal(err.code, 'STORE_DIR');
    assert.match(err.message, /Cannot create the data directory/);
    assert.ok(err.message.includes(dataDir), err.message);
    assert.match(err.message, /choose another data directory/);
  });

  test('a data directory that is a file is refused', async () => {
    const file = join(root, `file${++n}`);
    await writeFile(file, 'x');
    const err = await openError(file);
    assert.equal(err.code, 'STORE_DIR');
    assert.ok(err.message.includes(file), err.message);
  });

  test('a corrupt file: the error names it and says to move it away or restore a backup', async () => {
    const dataDir = freshDir();
    const store = new SqliteStore({ dataDir });
    await store.open();
    await store.close();
    await writeFile(join(dataDir, 'pipit.db'), Buffer.alloc(8192, 0x5a));
    const err = await openError(dataDir);
    assert.equal(err.code, 'STORE_CORRUPT');
    assert.ok(err.message.includes(join(dataDir, 'pipit.db')), err.message);
    assert.match(
      err.message,
      /not a valid Pipit database .*Move it away .*restore it from a backup/,
    );
  });

  test('a file from a newer schema: "upgrade Pipit or move the file away"', async () => {
    const dataDir = freshDir();
    const store = new SqliteStore({ dataDir });
    await store.open();
    await store.close();
    const db = new Database(join(dataDir, 'pipit.db'));
    db.pragma('user_version = 7');
    db.close();
    const err = await openError(dataDir);
    assert.equal(err.code, 'STORE_NEWER');
    assert.equal(
      err.message,
      `${join(dataDir, 'pipit.db')} was written by a newer Pipit (schema 7, this build reads up to ${SCHEMA_VERSION}): upgrade Pipit or move the file away.`,
    );
  });

  test('an SQLite database of another application is not taken over', async () => {
    const dataDir = freshDir();
    await mkdir(dataDir, { recursive: true });
    const db = new Database(join(dataDir, 'pipit.db'));
    db.exec('CREATE TABLE other (x)');
    db.close();
    const err = await openError(dataDir);
    assert.equal(err.code, 'STORE_FOREIGN');
    assert.match(err.message, /not a Pipit one/);
  });

  test('a second store on the same data directory is refused while the first is open', async () => {
    const dataDir = freshDir();
    const first = new SqliteStore({ dataDir });
    await first.open();
    const err = await openError(dataDir);
    assert.equal(err.code, 'STORE_BUSY');
    assert.match(err.message, /in use by another process/);
    await first.close();
    const second = new SqliteStore({ dataDir });
    await second.open(); // free again once the first has closed
    await second.close();
  });
});

describe('SQLite migrations', () => {
  const latest = SCHEMA_VERSION;
  const v2: Migration = {
    version: latest + 1,
    description: 'test: a new column',
    up: (db) => db.exec('ALTER TABLE sessions ADD COLUMN note TEXT'),
  };

  test('run in order from the recorded version, and only the missing ones', () => {
    const dataDir = freshDir();
    const first = openDatabase(dataDir, 'fsync', MIGRATIONS);
    assert.deepEqual([first.fromVersion, first.version], [0, latest]);
    first.db.close();
    const second = openDatabase(dataDir, 'fsync', [...MIGRATIONS, v2]);
    assert.deepEqual([second.fromVersion, second.version], [latest, latest + 1]);
    const columns = second.db.prepare('PRAGMA table_info(sessions)').all() as { name: string }[];
    assert.ok(columns.some((c) => c.name === 'note'));
    second.db.close();
    const third = openDatabase(dataDir, 'fsync', [...MIGRATIONS, v2]);
    assert.deepEqual([third.fromVersion, third.version], [latest + 1, latest + 1]);
    third.db.close();
  });

  test('a failing migration leaves the file at the previous version', () => {
    const dataDir = freshDir();
    openDatabase(dataDir, 'fsync', MIGRATIONS).db.close();
    const broken: Migration = {
      version: latest + 1,
      description: 'test: fails half way',
      up: (db) => db.exec('CREATE TABLE half (x); SELECT * FROM no_such_table'),
    };
    assert.throws(() => openDatabase(dataDir, 'fsync', [...MIGRATIONS, broken]), /no such table/);
    const again = openDatabase(dataDir, 'fsync', MIGRATIONS);
    assert.equal(again.fromVersion, latest);
    const half = again.db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half'").pluck();
    assert.equal(half.get(), 0);
    again.db.close();
  });

  test('a schema 1 file gains the wills.listener column, and its wills still load', async () => {
    const dataDir = freshDir();
    const v1 = openDatabase(dataDir, 'fsync', MIGRATIONS.slice(0, 1));
    v1.db
      .prepare(
        'INSERT INTO wills (client_id, topic, payload, qos, retain, username) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run('old-client', 'gone/old', Buffer.from('bye'), 1, 0, 'bob');
    v1.db.close();
    const store = new SqliteStore({ dataDir });
    await store.open();
    const state = await store.load();
    const will = state.wills.get('old-client');
    assert.equal(will?.will.topic, 'gone/old');
    assert.equal(will?.username, 'bob');
    assert.equal(will?.listener, undefined);
    assert.equal(store.database.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    await store.close();
  });

  test('a schema 2 file gains session owners: its sessions load unbound, then can be bound', async () => {
    const dataDir = freshDir();
    const v2file = openDatabase(dataDir, 'fsync', MIGRATIONS.slice(0, 2));
    v2file.db
      .prepare('INSERT INTO sessions (client_id, expiry_interval, expires_at) VALUES (?, ?, ?)')
      .run('old-session', 3600, null);
    v2file.db.close();
    const store = new SqliteStore({ dataDir });
    await store.open();
    const [loaded] = (await store.load()).sessions;
    assert.equal(loaded.clientId, 'old-session');
    assert.equal(loaded.owner, undefined, 'stored before owners were recorded: not bound');
    store.setSessionOwner('old-session', { username: 'alice' });
    await store.commit();
    assert.deepEqual((await store.load()).sessions[0].owner, { username: 'alice' });
    await store.close();
  });
});
