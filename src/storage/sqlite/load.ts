/** `load()` for the SQLite store: every session with its parts, and the wills. */
import type { LoadedState, StoredMessage, StoredSession, StoredWill } from '../../ports/index.js';
import {
  type DeliveryRow,
  type MessageRow,
  type SubscriptionRow,
  toDelivery,
  toMessage,
  toSubscription,
  toWill,
  type WillRow,
} from './rows.js';
import type { Statements } from './statements.js';

interface SessionRow {
  client_id: string;
  expiry_interval: number;
  expires_at: number | null;
  owner_bound: number;
  owner_username: string | null;
}

interface InflightRow extends DeliveryRow {
  client_id: string;
  packet_id: number;
  state: number;
}

/** Inflight `state` column values. */
export const INFLIGHT_STATE = { publish: 0, pubrel: 1 } as const;

/** Reads the whole persistent state (rows of client ids without a session are ignored). */
export function loadState(stm: Statements): LoadedState {
  const sessions = new Map<string, StoredSession>();
  for (const r of stm.loadSessions.all() as SessionRow[]) {
    const s: StoredSession = {
      clientId: r.client_id,
      expiryInterval: r.expiry_interval,
      subscriptions: [],
      inflight: [],
      inboundQos2: [],
      queuedCount: 0,
      queuedBytes: 0,
    };
    if (r.expires_at !== null) s.expiresAt = r.expires_at;
    if (r.owner_bound === 1) s.owner = { username: r.owner_username };
    sessions.set(r.client_id, s);
  }
  for (const r of stm.loadSubscriptions.all() as SubscriptionRow[]) {
    sessions.get(r.client_id)?.subscriptions.push(toSubscription(r));
  }
  for (const r of stm.loadInflight.iterate() as Iterable<InflightRow>) {
    sessions.get(r.client_id)?.inflight.push({
      packetId: r.packet_id,
      state: r.state === INFLIGHT_STATE.pubrel ? 'pubrel' : 'publish',
      delivery: toDelivery(r),
    });
  }
  for (const r of stm.loadInbound.iterate() as Iterable<{ client_id: string; packet_id: number }>) {
    sessions.get(r.client_id)?.inboundQos2.push(r.packet_id);
  }
  for (const r of stm.loadQueueStats.iterate() as Iterable<{
    client_id: string;
    n: number;
    bytes: number;
  }>) {
    const s = sessions.get(r.client_id);
    if (s === undefined) continue;
    s.queuedCount = r.n;
    s.queuedBytes = r.bytes;
  }
  const messages = new Map<number, StoredMessage>();
  for (const r of stm.loadInflightMessages.iterate() as Iterable<MessageRow>) {
    messages.set(r.id, toMessage(r));
  }
  const wills = new Map<string, StoredWill>();
  for (const r of stm.loadWills.iterate() as Iterable<WillRow>) wills.set(r.client_id, toWill(r));
  const lastMessageId = Math.max(
    stm.lastMessageId.get() as number,
    stm.maxMessageId.get() as number,
  );
  return { sessions: [...sessions.values()], messages, wills, lastMessageId };
}
