/** Every SQL statement the SQLite store runs, prepared once at open. */
import type Database from 'better-sqlite3';

const SQL = {
  begin: 'BEGIN IMMEDIATE',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',

  putMessage: `INSERT OR IGNORE INTO messages (id, topic, payload, size, qos, retain, properties, expires_at, origin,
         publisher_listener, publisher_username)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  lastMessageId: `SELECT value FROM meta WHERE key = 'last_message_id'`,
  setLastMessageId: `UPDATE meta SET value = @id WHERE key = 'last_message_id' AND value < @id`,
  maxMessageId:
    'SELECT max(coalesce((SELECT max(id) FROM messages), 0), coalesce((SELECT max(id) FROM retained), 0))',
  collectMessage: `DELETE FROM messages WHERE id = @id
         AND NOT EXISTS (SELECT 1 FROM queue WHERE message_id = @id)
         AND NOT EXISTS (SELECT 1 FROM inflight WHERE message_id = @id)`,
  collectAll: `DELETE FROM messages WHERE
         NOT EXISTS (SELECT 1 FROM queue WHERE message_id = messages.id)
         AND NOT EXISTS (SELECT 1 FROM inflight WHERE message_id = messages.id)`,
  countMessages: 'SELECT count(*) FROM messages',

  putSession: `INSERT INTO sessions (client_id, expiry_interval, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET
         expiry_interval = excluded.expiry_interval, expires_at = excluded.expires_at`,
  deleteSession: 'DELETE FROM sessions WHERE client_id = ?',
  setSessionOwner: 'UPDATE sessions SET owner_bound = 1, owner_username = ? WHERE client_id = ?',
  deleteSubscriptions: 'DELETE FROM subscriptions WHERE client_id = ?',
  deleteQueue: 'DELETE FROM queue WHERE client_id = ? RETURNING message_id',
  deleteAllInflight: 'DELETE FROM inflight WHERE client_id = ? RETURNING message_id',
  deleteAllInbound: 'DELETE FROM inbound_qos2 WHERE client_id = ?',

  putSubscription: `INSERT OR REPLACE INTO subscriptions
         (client_id, filter, qos, no_local, retain_as_published, retain_handling, subscription_id)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
  deleteSubscription: 'DELETE FROM subscriptions WHERE client_id = ? AND filter = ?',

  enqueue: `INSERT INTO queue (client_id, seq, message_id, qos, retain, subscription_ids, share_filter)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
  readQueue: `SELECT q.seq, q.message_id, q.qos AS d_qos, q.retain AS d_retain, q.subscription_ids,
              q.share_filter, m.id, m.topic, m.payload, m.qos, m.retain, m.properties,
              m.expires_at, m.origin, m.publisher_listener, m.publisher_username
       FROM queue q LEFT JOIN messages m ON m.id = q.message_id
       WHERE q.client_id = ? AND q.seq > ? ORDER BY q.seq LIMIT ?`,
  dequeue: 'DELETE FROM queue WHERE client_id = ? AND seq <= ? RETURNING message_id',
  removeQueued: 'DELETE FROM queue WHERE client_id = ? AND seq = ? RETURNING message_id',

  maxOrd: 'SELECT coalesce(max(ord), 0) FROM inflight',
  inflightMessage: 'SELECT message_id FROM inflight WHERE client_id = ? AND packet_id = ?',
  putInflight: `INSERT INTO inflight
         (client_id, packet_id, ord, state, message_id, qos, retain, subscription_ids, share_filter)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (client_id, packet_id) DO UPDATE SET
         ord = CASE WHEN message_id = excluded.message_id THEN ord ELSE excluded.ord END,
         state = excluded.state, message_id = excluded.message_id, qos = excluded.qos,
         retain = excluded.retain, subscription_ids = excluded.subscription_ids,
         share_filter = excluded.share_filter`,
  deleteInflight: 'DELETE FROM inflight WHERE client_id = ? AND packet_id = ? RETURNING message_id',

  addInbound: 'INSERT OR IGNORE INTO inbound_qos2 (client_id, packet_id) VALUES (?, ?)',
  deleteInbound: 'DELETE FROM inbound_qos2 WHERE client_id = ? AND packet_id = ?',

  putWill: `INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, username, due_at, listener)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  deleteWill: 'DELETE FROM wills WHERE client_id = ?',

  putRetained: `INSERT OR REPLACE INTO retained (topic, id, payload, qos, retain, properties, expires_at, origin,
         publisher_listener, publisher_username)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  deleteRetained: 'DELETE FROM retained WHERE topic = ?',

  loadSessions:
    'SELECT client_id, expiry_interval, expires_at, owner_bound, owner_username FROM sessions',
  loadSubscriptions: `SELECT client_id, filter, qos, no_local, retain_as_published, retain_handling, subscription_id
       FROM subscriptions ORDER BY client_id, filter`,
  loadInbound: 'SELECT client_id, packet_id FROM inbound_qos2 ORDER BY client_id, packet_id',
  loadWills:
    'SELECT client_id, topic, payload, qos, retain, properties, username, due_at, listener FROM wills',
  loadSessionOf: `SELECT client_id, expiry_interval, expires_at, owner_bound, owner_username FROM sessions
       WHERE client_id = ?`,
  loadSubscriptionsOf: `SELECT client_id, filter, qos, no_local, retain_as_published, retain_handling, subscription_id
       FROM subscriptions WHERE client_id = ? ORDER BY filter`,
  loadInboundOf: 'SELECT packet_id FROM inbound_qos2 WHERE client_id = ? ORDER BY packet_id',

  loadInflight: `SELECT client_id, packet_id, state, message_id, qos, retain, subscription_ids, share_filter
       FROM inflight ORDER BY client_id, ord`,
  loadInflightMessages: `SELECT id, topic, payload, qos, retain, properties, expires_at, origin,
         publisher_listener, publisher_username FROM messages
       WHERE id IN (SELECT message_id FROM inflight)`,
  loadQueueStats: `SELECT q.client_id, count(*) AS n, coalesce(sum(m.size), 0) AS bytes, max(q.seq) AS last
       FROM queue q LEFT JOIN messages m ON m.id = q.message_id GROUP BY q.client_id`,
  loadInflightOf: `SELECT client_id, packet_id, state, message_id, qos, retain, subscription_ids, share_filter
       FROM inflight WHERE client_id = ? ORDER BY ord`,
  loadInflightMessagesOf: `SELECT id, topic, payload, qos, retain, properties, expires_at, origin,
         publisher_listener, publisher_username FROM messages
       WHERE id IN (SELECT message_id FROM inflight WHERE client_id = ?)`,
  loadQueueStatsOf: `SELECT count(*) AS n, coalesce(sum(m.size), 0) AS bytes, coalesce(max(q.seq), 0) AS last
       FROM queue q LEFT JOIN messages m ON m.id = q.message_id WHERE q.client_id = ?`,

  iterateRetained: `SELECT id, topic, payload, qos, retain, properties, expires_at, origin,
         publisher_listener, publisher_username FROM retained
       WHERE expires_at IS NULL OR expires_at > ? ORDER BY topic`,
  matchRetainedTopic: `SELECT id, topic, payload, qos, retain, properties, expires_at, origin,
         publisher_listener, publisher_username FROM retained WHERE topic = ?`,
  matchRetainedRange: `SELECT id, topic, payload, qos, retain, properties, expires_at, origin,
         publisher_listener, publisher_username FROM retained
       WHERE topic >= ? AND topic < ? ORDER BY topic`,
  matchRetainedAll: `SELECT id, topic, payload, qos, retain, properties, expires_at, origin,
         publisher_listener, publisher_username FROM retained ORDER BY topic`,
  deleteRetainedIfExpired: 'DELETE FROM retained WHERE topic = ? AND expires_at <= ?',
  deleteExpiredRetained: 'DELETE FROM retained WHERE expires_at <= ?',
  deleteRetainedFrom: 'DELETE FROM retained WHERE topic >= ?',
  countRetained: 'SELECT count(*) FROM retained',
} as const;

/** Statements that return the first column's value rather than a row object. */
const PLUCKED: ReadonlySet<keyof typeof SQL> = new Set([
  'lastMessageId',
  'maxMessageId',
  'countMessages',
  'deleteQueue',
  'deleteAllInflight',
  'loadInboundOf',
  'dequeue',
  'removeQueued',
  'maxOrd',
  'inflightMessage',
  'deleteInflight',
  'countRetained',
] as const);

/** The prepared statements of one connection, by name. */
export type Statements = Record<keyof typeof SQL, Database.Statement>;

/** Prepares every statement on `db`. */
export function prepareStatements(db: Database.Database): Statements {
  const out = {} as Statements;
  for (const name of Object.keys(SQL) as (keyof typeof SQL)[]) {
    const stmt = db.prepare(SQL[name]);
    out[name] = PLUCKED.has(name) ? stmt.pluck() : stmt;
  }
  return out;
}
