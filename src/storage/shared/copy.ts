/**
 * Canonical copies of stored records: the same shape from every store (optional fields
 * absent rather than undefined), and never an object the caller may still change.
 */
import type {
  StoredDelivery,
  StoredMessage,
  StoredSubscription,
  StoredWill,
} from '../../ports/index.js';
import type { Properties, Will } from '../../protocol/index.js';

function copyProperties(props: Properties | undefined): Properties | undefined {
  if (props === undefined) return undefined;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined) continue;
    any = true;
    if (Buffer.isBuffer(value)) out[name] = Buffer.from(value);
    else if (Array.isArray(value))
      out[name] = value.map((v) => (Array.isArray(v) ? [v[0], v[1]] : v));
    else out[name] = value;
  }
  return any ? (out as Properties) : undefined;
}

/** A stored message. The payload Buffer is shared: messages are immutable. */
export function copyMessage(m: StoredMessage): StoredMessage {
  const out: StoredMessage = {
    id: m.id,
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
  };
  const properties = copyProperties(m.properties);
  if (properties !== undefined) out.properties = properties;
  if (m.expiresAt !== undefined) out.expiresAt = m.expiresAt;
  if (m.origin !== undefined) out.origin = m.origin;
  if (m.publisher !== undefined) {
    out.publisher = { listener: m.publisher.listener };
    if (m.publisher.username !== undefined) out.publisher.username = m.publisher.username;
  }
  return out;
}

/** A delivery. */
export function copyDelivery(d: StoredDelivery): StoredDelivery {
  const out: StoredDelivery = { messageId: d.messageId, qos: d.qos, retain: d.retain };
  if (d.subscriptionIds !== undefined && d.subscriptionIds.length > 0)
    out.subscriptionIds = [...d.subscriptionIds];
  if (d.shareFilter !== undefined) out.shareFilter = d.shareFilter;
  return out;
}

/** A subscription. */
export function copySubscription(s: StoredSubscription): StoredSubscription {
  const out: StoredSubscription = {
    filter: s.filter,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
  };
  if (s.subscriptionId !== undefined) out.subscriptionId = s.subscriptionId;
  return out;
}

/** A will with its message. */
export function copyWill(w: StoredWill): StoredWill {
  const will: Will = {
    topic: w.will.topic,
    payload: w.will.payload,
    qos: w.will.qos,
    retain: w.will.retain,
  };
  const properties = copyProperties(w.will.properties);
  if (properties !== undefined) will.properties = properties;
  const out: StoredWill = { will };
  if (w.username !== undefined) out.username = w.username;
  if (w.listener !== undefined) out.listener = w.listener;
  if (w.dueAt !== undefined) out.dueAt = w.dueAt;
  if (w.verdict !== undefined) out.verdict = w.verdict;
  return out;
}
