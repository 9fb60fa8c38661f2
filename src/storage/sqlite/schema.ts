/**
 * The SQLite schema as an ordered list of migrations. `PRAGMA user_version` records the
 * version a file is at; `open` runs the missing migrations in order, each in its own
 * transaction, and refuses a file from a newer Pipit. Never edit a released migration:
 * append a new one.
 */
import type Database from 'better-sqlite3';

/** One schema step: brings a database from `version - 1` to `version`. @internal */
export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}

/** Written to `PRAGMA application_id` so a Pipit database can be told from other SQLite files ('PIPT'). */
export const APPLICATION_ID = 0x50495054;

const V1 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('last_message_id', 0);

-- Messages are stored once and referenced by queue and inflight rows (message_id).
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  size INTEGER NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  properties BLOB,
  expires_at INTEGER,
  origin TEXT
);

CREATE TABLE sessions (
  client_id TEXT PRIMARY KEY,
  expiry_interval INTEGER NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;

CREATE TABLE subscriptions (
  client_id TEXT NOT NULL,
  filter TEXT NOT NULL,
  qos INTEGER NOT NULL,
  no_local INTEGER NOT NULL,
  retain_as_published INTEGER NOT NULL,
  retain_handling INTEGER NOT NULL,
  subscription_id INTEGER,
  PRIMARY KEY (client_id, filter)
) WITHOUT ROWID;

CREATE TABLE queue (
  client_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  subscription_ids TEXT,
  share_filter TEXT,
  PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;
CREATE INDEX queue_message ON queue (message_id);

CREATE TABLE inflight (
  client_id TEXT NOT NULL,
  packet_id INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  state INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  subscription_ids TEXT,
  share_filter TEXT,
  PRIMARY KEY (client_id, packet_id)
) WITHOUT ROWID;
CREATE INDEX inflight_message ON inflight (message_id);

CREATE TABLE inbound_qos2 (
  client_id TEXT NOT NULL,
  packet_id INTEGER NOT NULL,
  PRIMARY KEY (client_id, packet_id)
) WITHOUT ROWID;

CREATE TABLE wills (
  client_id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  properties BLOB,
  username TEXT,
  due_at INTEGER
) WITHOUT ROWID;

CREATE TABLE retained (
  topic TEXT PRIMARY KEY,
  id INTEGER NOT NULL,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  properties BLOB,
  expires_at INTEGER,
  origin TEXT
) WITHOUT ROWID;
`;

/** Every migration, in order; the last one's version is the schema this build writes. @internal */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sessions, subscriptions, queue, inflight, inbound QoS 2 ids, wills, retained',
    up: (db) => db.exec(V1),
  },
  {
    version: 2,
    description: 'wills remember the listener their client came through',
    up: (db) => db.exec('ALTER TABLE wills ADD COLUMN listener TEXT'),
  },
  {
    version: 3,
    // owner_bound 0: a session stored before owners were recorded (the next client binds it);
    // 1: owner_username is the owner's verified username, NULL for an anonymous owner.
    description: 'sessions remember the user that owns them',
    up: (db) =>
      db.exec(`
        ALTER TABLE sessions ADD COLUMN owner_bound INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN owner_username TEXT;
      `),
  },
  {
    version: 4,
    // publisher_listener NULL: publisher unknown (host application, or stored before this).
    description: 'messages remember their publisher (retained messages are re-checked against it)',
    up: (db) =>
      db.exec(`
        ALTER TABLE messages ADD COLUMN publisher_listener TEXT;
        ALTER TABLE messages ADD COLUMN publisher_username TEXT;
        ALTER TABLE retained ADD COLUMN publisher_listener TEXT;
        ALTER TABLE retained ADD COLUMN publisher_username TEXT;
      `),
  },
];

/** The schema version this build reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
