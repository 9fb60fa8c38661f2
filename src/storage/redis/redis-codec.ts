/**
 * How the Redis store writes its records. Messages and wills are binary (a small JSON header,
 * then the payload as it is: no base64 on the bulky part); deliveries and subscriptions are
 * short JSON strings the Lua scripts can read with cjson. Optional fields are left out, and
 * read back absent rather than undefined (as every store returns them).
 */
import type {
  QueuedEntry,
  StoredDelivery,
  StoredInflight,
  StoredMessage,
  StoredSubscription,
  StoredWill,
} from '../../ports/index.js';
import type { QoS, Will } from '../../protocol/index.js';
import { decodeProperties, encodeProperties } from '../shared/properties-codec.js';

interface MessageHeader {
  i: number;
  t: string;
  q: QoS;
  r: 0 | 1;
  /** Properties, base64 of the properties codec. */
  p?: string;
  x?: number;
  o?: string;
  pl?: string;
  pu?: string;
}

/** `u32 header length, header (JSON), payload`. */
function frame(header: object, payload: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(4 + json.length + payload.length);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  payload.copy(out, 4 + json.length);
  return out;
}

function unframe<T>(buf: Buffer): { header: T; payload: Buffer } {
  const length = buf.readUInt32LE(0);
  const header = JSON.parse(buf.toString('utf8', 4, 4 + length)) as T;
  // A copy: the reply buffer is not ours to keep a view into.
  return { header, payload: Buffer.from(buf.subarray(4 + length)) };
}

function propertiesText(props: StoredMessage['properties']): string | undefined {
  const encoded = encodeProperties(props);
  return encoded === null ? undefined : encoded.toString('base64');
}

/** A message as stored (message bodies and retained messages). */
export function encodeMessage(m: StoredMessage): Buffer {
  const h: MessageHeader = { i: m.id, t: m.topic, q: m.qos, r: m.retain ? 1 : 0 };
  const p = propertiesText(m.properties);
  if (p !== undefined) h.p = p;
  if (m.expiresAt !== undefined) h.x = m.expiresAt;
  if (m.origin !== undefined) h.o = m.origin;
  if (m.publisher !== undefined) {
    h.pl = m.publisher.listener;
    if (m.publisher.username !== undefined) h.pu = m.publisher.username;
  }
  return frame(h, m.payload);
}

/** A message from what {@link encodeMessage} wrote. */
export function decodeMessage(buf: Buffer): StoredMessage {
  const { header: h, payload } = unframe<MessageHeader>(buf);
  const m: StoredMessage = { id: h.i, topic: h.t, payload, qos: h.q, retain: h.r === 1 };
  const properties = h.p === undefined ? undefined : decodeProperties(Buffer.from(h.p, 'base64'));
  if (properties !== undefined) m.properties = properties;
  if (h.x !== undefined) m.expiresAt = h.x;
  if (h.o !== undefined) m.origin = h.o;
  if (h.pl !== undefined) {
    m.publisher = { listener: h.pl };
    if (h.pu !== undefined) m.publisher.username = h.pu;
  }
  return m;
}

interface WillHeader {
  t: string;
  q: QoS;
  r: 0 | 1;
  p?: string;
  u?: string;
  l?: string;
  d?: number;
  /** The verdict: 1 allow, 0 deny (StoredWill.verdict). */
  v?: 0 | 1;
}

/** A will as stored. */
export function encodeWill(w: StoredWill): Buffer {
  const h: WillHeader = { t: w.will.topic, q: w.will.qos, r: w.will.retain ? 1 : 0 };
  const p = propertiesText(w.will.properties);
  if (p !== undefined) h.p = p;
  if (w.username !== undefined) h.u = w.username;
  if (w.listener !== undefined) h.l = w.listener;
  if (w.dueAt !== undefined) h.d = w.dueAt;
  if (w.verdict !== undefined) h.v = w.verdict === 'allow' ? 1 : 0;
  return frame(h, w.will.payload);
}

/** A will from what {@link encodeWill} wrote. */
export function decodeWill(buf: Buffer): StoredWill {
  const { header: h, payload } = unframe<WillHeader>(buf);
  const will: Will = { topic: h.t, payload, qos: h.q, retain: h.r === 1 };
  const properties = h.p === undefined ? undefined : decodeProperties(Buffer.from(h.p, 'base64'));
  if (properties !== undefined) will.properties = properties;
  const w: StoredWill = { will };
  if (h.u !== undefined) w.username = h.u;
  if (h.l !== undefined) w.listener = h.l;
  if (h.d !== undefined) w.dueAt = h.d;
  // Anything but 1 or 0 (a record of an older Pipit has none) is no verdict: denied where it counts.
  if (h.v === 1 || h.v === 0) w.verdict = h.v === 1 ? 'allow' : 'deny';
  return w;
}

/** A delivery as JSON (`m` message id, `q`, `r`, `i` subscription ids, `f` share filter). */
interface DeliveryJson {
  m: number;
  q: QoS;
  r: 0 | 1;
  i?: number[];
  f?: string;
}

/** A queue entry: the delivery with its seq (`n`) and its message's payload size (`b`). */
interface QueueEntryJson extends DeliveryJson {
  n: number;
  b: number;
}

function deliveryJson(d: StoredDelivery): DeliveryJson {
  const j: DeliveryJson = { m: d.messageId, q: d.qos, r: d.retain ? 1 : 0 };
  if (d.subscriptionIds !== undefined && d.subscriptionIds.length > 0) j.i = d.subscriptionIds;
  if (d.shareFilter !== undefined) j.f = d.shareFilter;
  return j;
}

function fromDeliveryJson(j: DeliveryJson): StoredDelivery {
  const d: StoredDelivery = { messageId: j.m, qos: j.q, retain: j.r === 1 };
  if (j.i !== undefined) d.subscriptionIds = j.i;
  if (j.f !== undefined) d.shareFilter = j.f;
  return d;
}

/** A queue entry (a sorted set member: unique by its seq). */
export function encodeQueueEntry(seq: number, d: StoredDelivery, size: number): string {
  return JSON.stringify({ n: seq, b: size, ...deliveryJson(d) });
}

/** A queue entry from its sorted set member. */
export function decodeQueueEntry(member: string): QueuedEntry {
  const j = JSON.parse(member) as QueueEntryJson;
  return { seq: j.n, delivery: fromDeliveryJson(j) };
}

/** The delivery part of an inflight entry (the script prefixes `<ord> <message id> <state> `). */
export function encodeInflightDelivery(d: StoredDelivery): string {
  return JSON.stringify(deliveryJson(d));
}

/** Inflight `state` as stored. */
export const INFLIGHT_STATE = { publish: '0', pubrel: '1' } as const;

/** An inflight entry with its send order, from `<ord> <message id> <state> <delivery>`. */
export function decodeInflight(
  packetId: number,
  value: string,
): { ord: number; entry: StoredInflight } {
  const first = value.indexOf(' ');
  const second = value.indexOf(' ', first + 1);
  const third = value.indexOf(' ', second + 1);
  const state = value.slice(second + 1, third);
  return {
    ord: Number(value.slice(0, first)),
    entry: {
      packetId,
      state: state === INFLIGHT_STATE.pubrel ? 'pubrel' : 'publish',
      delivery: fromDeliveryJson(JSON.parse(value.slice(third + 1)) as DeliveryJson),
    },
  };
}

/** A subscription as JSON. */
export function encodeSubscription(s: StoredSubscription): string {
  const j: Record<string, unknown> = {
    q: s.qos,
    nl: s.noLocal ? 1 : 0,
    rap: s.retainAsPublished ? 1 : 0,
    rh: s.retainHandling,
  };
  if (s.subscriptionId !== undefined) j.i = s.subscriptionId;
  return JSON.stringify(j);
}

/** A subscription from its filter and JSON. */
export function decodeSubscription(filter: string, text: string): StoredSubscription {
  const j = JSON.parse(text) as { q: QoS; nl: number; rap: number; rh: 0 | 1 | 2; i?: number };
  const s: StoredSubscription = {
    filter,
    qos: j.q,
    noLocal: j.nl === 1,
    retainAsPublished: j.rap === 1,
    retainHandling: j.rh,
  };
  if (j.i !== undefined) s.subscriptionId = j.i;
  return s;
}
