/** The session port's reads for the SQLite store: session records (all, or one client's) and wills. */
import type { StoredSessionRecord, StoredWill } from '../../ports/index.js';
import { type SubscriptionRow, toSubscription, toWill, type WillRow } from './rows.js';
import type { Statements } from './statements.js';

interface SessionRow {
  client_id: string;
  expiry_interval: number;
  expires_at: number | null;
  owner_bound: number;
  owner_username: string | null;
}

function toRecord(r: SessionRow): StoredSessionRecord {
  const s: StoredSessionRecord = {
    clientId: r.client_id,
    expiryInterval: r.expiry_interval,
    subscriptions: [],
    inboundQos2: [],
  };
  if (r.expires_at !== null) s.expiresAt = r.expires_at;
  if (r.owner_bound === 1) s.owner = { username: r.owner_username };
  return s;
}

/** Every session record with its subscriptions and inbound ids (rows without a session are ignored). */
export function loadSessionRecords(stm: Statements): StoredSessionRecord[] {
  const sessions = new Map<string, StoredSessionRecord>();
  for (const r of stm.loadSessions.all() as SessionRow[]) sessions.set(r.client_id, toRecord(r));
  for (const r of stm.loadSubscriptions.all() as SubscriptionRow[]) {
    sessions.get(r.client_id)?.subscriptions.push(toSubscription(r));
  }
  for (const r of stm.loadInbound.iterate() as Iterable<{ client_id: string; packet_id: number }>) {
    sessions.get(r.client_id)?.inboundQos2.push(r.packet_id);
  }
  return [...sessions.values()];
}

/** One client's session record, or undefined. */
export function loadSessionRecord(
  stm: Statements,
  clientId: string,
): StoredSessionRecord | undefined {
  const row = stm.loadSessionOf.get(clientId) as SessionRow | undefined;
  if (row === undefined) return undefined;
  const record = toRecord(row);
  for (const r of stm.loadSubscriptionsOf.all(clientId) as SubscriptionRow[]) {
    record.subscriptions.push(toSubscription(r));
  }
  record.inboundQos2 = stm.loadInboundOf.all(clientId) as number[];
  return record;
}

/** Every stored will by client id. */
export function loadWillRows(stm: Statements): Map<string, StoredWill> {
  const wills = new Map<string, StoredWill>();
  for (const r of stm.loadWills.iterate() as Iterable<WillRow>) wills.set(r.client_id, toWill(r));
  return wills;
}
