/** Every SQL statement the SQLite store runs, prepared once at open. */
import type Database from 'better-sqlite3';

/** The prepared statements of one connection. */
export function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),

    putMessage: p(
      `INSERT OR IGNORE INTO messages (id, topic, payload, size, qos, retain, properties, expires_at, origin)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    lastMessageId: p(`SELECT value FROM meta WHERE key = 'last_message_id'`).pluck(),
    setLastMessageId: p(
      `UPDATE meta SET value = @id WHERE key = 'last_message_id' AND value < @id`,
    ),
    maxMessageId: p(
      'SELECT max(coalesce((SELECT max(id) FROM messages), 0), coalesce((SELECT max(id) FROM retained), 0))',
    ).pluck(),
    collectMessage: p(
      `DELETE FROM messages WHERE id = @id
         AND NOT EXISTS (SELECT 1 FROM queue WHERE message_id = @id)
         AND NOT EXISTS (SELECT 1 FROM inflight WHERE message_id = @id)`,
    ),
    collectAll: p(
      `DELETE FROM messages WHERE
         NOT EXISTS (SELECT 1 FROM queue WHERE message_id = messages.id)
         AND NOT EXISTS (SELECT 1 FROM inflight WHERE message_id = messages.id)`,
    ),
    countMessages: p('SELECT count(*) FROM messages').pluck(),

    putSession: p(
      `INSERT INTO sessions (client_id, expiry_interval, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET
         expiry_interval = excluded.expiry_interval, expires_at = excluded.expires_at`,
    ),
    deleteSession: p('DELETE FROM sessions WHERE client_id = ?'),
    deleteSubscriptions: p('DELETE FROM subscriptions WHERE client_id = ?'),
    deleteQueue: p('DELETE FROM queue WHERE client_id = ? RETURNING message_id').pluck(),
    deleteAllInflight: p('DELETE FROM inflight WHERE client_id = ? RETURNING message_id').pluck(),
    deleteAllInbound: p('DELETE FROM inbound_qos2 WHERE client_id = ?'),

    putSubscription: p(
      `INSERT OR REPLACE INTO subscriptions
         (client_id, filter, qos, no_local, retain_as_published, retain_handling, subscription_id)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteSubscription: p('DELETE FROM subscriptions WHERE client_id = ? AND filter = ?'),

    maxSeq: p('SELECT max(seq) FROM queue WHERE client_id = ?').pluck(),
    enqueue: p(
      `INSERT INTO queue (client_id, seq, message_id, qos, retain, subscription_ids, share_filter)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    readQueue: p(
      `SELECT q.seq, q.message_id, q.qos AS d_qos, q.retain AS d_retain, q.subscription_ids,
              q.share_filter, m.id, m.topic, m.payload, m.qos, m.retain, m.properties,
              m.expires_at, m.origin
       FROM queue q LEFT JOIN messages m ON m.id = q.message_id
       WHERE q.client_id = ? AND q.seq > ? ORDER BY q.seq LIMIT ?`,
    ),
    dequeue: p('DELETE FROM queue WHERE client_id = ? AND seq <= ? RETURNING message_id').pluck(),

    maxOrd: p('SELECT coalesce(max(ord), 0) FROM inflight').pluck(),
    inflightMessage: p(
      'SELECT message_id FROM inflight WHERE client_id = ? AND packet_id = ?',
    ).pluck(),
    putInflight: p(
      `INSERT INTO inflight
         (client_id, packet_id, ord, state, message_id, qos, retain, subscription_ids, share_filter)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (client_id, packet_id) DO UPDATE SET
         ord = CASE WHEN message_id = excluded.message_id THEN ord ELSE excluded.ord END,
         state = excluded.state, message_id = excluded.message_id, qos = excluded.qos,
         retain = excluded.retain, subscription_ids = excluded.subscription_ids,
         share_filter = excluded.share_filter`,
    ),
    deleteInflight: p(
      'DELETE FROM inflight WHERE client_id = ? AND packet_id = ? RETURNING message_id',
    ).pluck(),

    addInbound: p('INSERT OR IGNORE INTO inbound_qos2 (client_id, packet_id) VALUES (?, ?)'),
    deleteInbound: p('DELETE FROM inbound_qos2 WHERE client_id = ? AND packet_id = ?'),

    putWill: p(
      `INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, username, due_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteWill: p('DELETE FROM wills WHERE client_id = ?'),

    putRetained: p(
      `INSERT OR REPLACE INTO retained (topic, id, payload, qos, retain, properties, expires_at, origin)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteRetained: p('DELETE FROM retained WHERE topic = ?'),

    loadSessions: p('SELECT client_id, expiry_interval, expires_at FROM sessions'),
    loadSubscriptions: p(
      `SELECT client_id, filter, qos, no_local, retain_as_published, retain_handling, subscription_id
       FROM subscriptions ORDER BY client_id, filter`,
    ),
    loadInflight: p(
      `SELECT client_id, packet_id, state, message_id, qos, retain, subscription_ids, share_filter
       FROM inflight ORDER BY client_id, ord`,
    ),
    loadInflightMessages: p(
      `SELECT id, topic, payload, qos, retain, properties, expires_at, origin FROM messages
       WHERE id IN (SELECT message_id FROM inflight)`,
    ),
    loadInbound: p('SELECT client_id, packet_id FROM inbound_qos2 ORDER BY client_id, packet_id'),
    loadQueueStats: p(
      `SELECT q.client_id, count(*) AS n, coalesce(sum(m.size), 0) AS bytes
       FROM queue q LEFT JOIN messages m ON m.id = q.message_id GROUP BY q.client_id`,
    ),
    loadWills: p(
      'SELECT client_id, topic, payload, qos, retain, properties, username, due_at FROM wills',
    ),
    loadRetained: p(
      'SELECT id, topic, payload, qos, retain, properties, expires_at, origin FROM retained',
    ),
  };
}

/** The statements object. */
export type Statements = ReturnType<typeof prepareStatements>;
