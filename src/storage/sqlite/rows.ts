/** Conversions between the port's records and SQLite rows (no JSON on hot columns). */
import type {
  StoredDelivery,
  StoredMessage,
  StoredSubscription,
  StoredWill,
} from '../../ports/index.js';
import type { QoS, Will } from '../../protocol/index.js';
import { decodeProperties, encodeProperties } from '../shared/properties-codec.js';

/** A messages / retained row. */
export interface MessageRow {
  id: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: Buffer | null;
  expires_at: number | null;
  origin: string | null;
  publisher_listener: string | null;
  publisher_username: string | null;
}

/** Inflight `state` column values. */
export const INFLIGHT_STATE = { publish: 0, pubrel: 1 } as const;

/** A queue / inflight row's delivery columns. */
export interface DeliveryRow {
  message_id: number;
  qos: number;
  retain: number;
  subscription_ids: string | null;
  share_filter: string | null;
}

/** Subscription ids as stored: "1,2,3", or null for none. */
export function encodeIds(ids: number[] | undefined): string | null {
  return ids === undefined || ids.length === 0 ? null : ids.join(',');
}

/** The bind parameters of a message, in column order (id, topic, payload, size, ...). */
export function messageParams(m: StoredMessage): unknown[] {
  return [
    m.id,
    m.topic,
    m.payload,
    m.payload.length,
    m.qos,
    m.retain ? 1 : 0,
    encodeProperties(m.properties),
    m.expiresAt ?? null,
    m.origin ?? null,
    m.publisher?.listener ?? null,
    m.publisher?.username ?? null,
  ];
}

/** The bind parameters of a retained message (topic first, no size column). */
export function retainedParams(m: StoredMessage): unknown[] {
  return [
    m.topic,
    m.id,
    m.payload,
    m.qos,
    m.retain ? 1 : 0,
    encodeProperties(m.properties),
    m.expiresAt ?? null,
    m.origin ?? null,
    m.publisher?.listener ?? null,
    m.publisher?.username ?? null,
  ];
}

/** The bind parameters of a delivery (message_id, qos, retain, subscription_ids, share_filter). */
export function deliveryParams(d: StoredDelivery): unknown[] {
  return [
    d.messageId,
    d.qos,
    d.retain ? 1 : 0,
    encodeIds(d.subscriptionIds),
    d.shareFilter ?? null,
  ];
}

/** A message from its row. */
export function toMessage(r: MessageRow): StoredMessage {
  const m: StoredMessage = {
    id: r.id,
    topic: r.topic,
    payload: r.payload,
    qos: r.qos as QoS,
    retain: r.retain === 1,
  };
  const properties = decodeProperties(r.properties);
  if (properties !== undefined) m.properties = properties;
  if (r.expires_at !== null) m.expiresAt = r.expires_at;
  if (r.origin !== null) m.origin = r.origin;
  if (r.publisher_listener !== null) {
    m.publisher = { listener: r.publisher_listener };
    if (r.publisher_username !== null) m.publisher.username = r.publisher_username;
  }
  return m;
}

/** A delivery from its row. */
export function toDelivery(r: DeliveryRow): StoredDelivery {
  const d: StoredDelivery = { messageId: r.message_id, qos: r.qos as QoS, retain: r.retain === 1 };
  if (r.subscription_ids !== null) d.subscriptionIds = r.subscription_ids.split(',').map(Number);
  if (r.share_filter !== null) d.shareFilter = r.share_filter;
  return d;
}

/** A subscriptions row. */
export interface SubscriptionRow {
  client_id: string;
  filter: string;
  qos: number;
  no_local: number;
  retain_as_published: number;
  retain_handling: number;
  subscription_id: number | null;
}

/** The bind parameters of a subscription (after client_id). */
export function subscriptionParams(s: StoredSubscription): unknown[] {
  return [
    s.filter,
    s.qos,
    s.noLocal ? 1 : 0,
    s.retainAsPublished ? 1 : 0,
    s.retainHandling,
    s.subscriptionId ?? null,
  ];
}

/** A subscription from its row. */
export function toSubscription(r: SubscriptionRow): StoredSubscription {
  const s: StoredSubscription = {
    filter: r.filter,
    qos: r.qos as QoS,
    noLocal: r.no_local === 1,
    retainAsPublished: r.retain_as_published === 1,
    retainHandling: r.retain_handling as 0 | 1 | 2,
  };
  if (r.subscription_id !== null) s.subscriptionId = r.subscription_id;
  return s;
}

/** A wills row. */
export interface WillRow {
  client_id: string;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: Buffer | null;
  username: string | null;
  due_at: number | null;
  listener: string | null;
}

/** The bind parameters of a will (after client_id). */
export function willParams(w: StoredWill): unknown[] {
  return [
    w.will.topic,
    w.will.payload,
    w.will.qos,
    w.will.retain ? 1 : 0,
    encodeProperties(w.will.properties),
    w.username ?? null,
    w.dueAt ?? null,
    w.listener ?? null,
  ];
}

/** A will from its row. */
export function toWill(r: WillRow): StoredWill {
  const will: Will = {
    topic: r.topic,
    payload: r.payload,
    qos: r.qos as QoS,
    retain: r.retain === 1,
  };
  const properties = decodeProperties(r.properties);
  if (properties !== undefined) will.properties = properties;
  const w: StoredWill = { will };
  if (r.username !== null) w.username = r.username;
  if (r.due_at !== null) w.dueAt = r.due_at;
  if (r.listener !== null) w.listener = r.listener;
  return w;
}
