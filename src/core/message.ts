/**
 * Messages and deliveries. A message is stored once, immutable, and shared by every
 * subscriber; a delivery is the small per-subscriber part.
 */
import type { StoredMessage } from '../ports/index.js';
import type { Properties, QoS } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import { copyToOwnMemory, ownsItsMemory } from './payload-memory.js';

/** An application message as the broker holds it. */
export interface Message {
  /** Unique across the nodes sharing state, increasing per node (message-ids.ts). */
  readonly id: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  /** The RETAIN flag as published. */
  readonly retain: boolean;
  /**
   * Properties forwarded to subscribers unchanged ([MQTT-3.3.2-4] payload format, [MQTT-3.3.2-20]
   * content type, [MQTT-3.3.2-15] response topic, [MQTT-3.3.2-16] correlation data,
   * [MQTT-3.3.2-17] user properties). Never holds topicAlias, subscriptionIdentifiers or
   * messageExpiryInterval: expiry lives in `expiresAt`.
   */
  readonly properties: Properties | undefined;
  /** Absolute expiry time in ms since the epoch, from Message Expiry Interval. */
  readonly expiresAt: number | undefined;
  /** Client id of the publisher (for no-local), undefined for the host application. */
  readonly origin: string | undefined;
  /**
   * The publishing client as authorization saw it (a retained message is re-checked against
   * it when served, see retained-source.ts); undefined for the host application and for
   * messages restored without one. A reference to the connection's ClientInfo: no copy.
   */
  readonly publisher: ClientInfo | undefined;
  /**
   * Bookkeeping of the memory budget: how many in-memory queue entries hold this message, so
   * that its payload is counted once however many sessions queue it. Not part of the message.
   */
  queueRefs?: number;
}

/** One message on its way to one session. */
export interface Delivery {
  readonly message: Message;
  /** min(message QoS, granted QoS) [MQTT-3.8.4-8]. */
  readonly qos: QoS;
  /** RETAIN flag as sent to this subscriber. */
  readonly retain: boolean;
  /** Identifiers of every matching subscription that has one [MQTT-3.3.4-4]. */
  readonly subscriptionIds: readonly number[] | undefined;
  /** The `$share/group/filter` this delivery came through, if any (re-dispatched if the member leaves). */
  readonly shareFilter: string | undefined;
}

/**
 * Builds a message with id `id` (from the broker's MessageIds); `messageExpiryInterval` in
 * `properties` becomes the absolute `expiresAt`.
 */
export function createMessage(
  id: number,
  fields: {
    topic: string;
    payload: Buffer;
    qos: QoS;
    retain: boolean;
    properties?: Properties | undefined;
    origin?: string | undefined;
    publisher?: ClientInfo | undefined;
  },
  now: number,
): Message {
  let properties = fields.properties;
  let expiresAt: number | undefined;
  if (properties) {
    const { topicAlias, subscriptionIdentifiers, messageExpiryInterval, ...rest } = properties;
    if (messageExpiryInterval !== undefined) expiresAt = now + messageExpiryInterval * 1000;
    properties = hasKeys(rest) ? rest : undefined;
  }
  return {
    id,
    topic: fields.topic,
    payload: fields.payload,
    qos: fields.qos,
    retain: fields.retain,
    properties,
    expiresAt,
    origin: fields.origin,
    publisher: fields.publisher,
    queueRefs: 0,
  };
}

/**
 * A message read back from the store, keeping its id (the broker's MessageIds continue after
 * the store's last id, so new ids stay unique across restarts).
 */
export function restoreMessage(stored: StoredMessage): Message {
  return {
    id: stored.id,
    topic: stored.topic,
    payload: stored.payload,
    qos: stored.qos,
    retain: stored.retain,
    properties: stored.properties,
    expiresAt: stored.expiresAt,
    origin: stored.origin,
    publisher: storedPublisher(stored),
    queueRefs: 0,
  };
}

/**
 * The publisher of a stored message as a ClientInfo for the authorization hooks (as for a
 * restored will): its client id, listener and verified username, nothing else.
 */
function storedPublisher(stored: StoredMessage): ClientInfo | undefined {
  const publisher = stored.publisher;
  if (publisher === undefined) return undefined;
  return {
    clientId: stored.origin ?? '',
    username: publisher.username,
    usernameVerified: publisher.username !== undefined,
    protocolVersion: 5,
    remoteAddress: undefined,
    listener: publisher.listener,
    certificateIdentity: undefined,
  };
}

/**
 * The last message detached and its copy (and the same for deliveries). A fan-out queues
 * the same message, mostly in the same delivery object, for many sessions one after another,
 * so remembering one pair shares the copy among them: N queued entries of one publish hold
 * one message and one delivery. (A WeakMap of every message did the same, but its set per
 * message and the ephemeron work it gave the GC were a third of the broker's CPU in fan-in
 * at QoS 1; see bench/RESULTS.md "Hot path profile".)
 */
let lastOriginal: Message | undefined;
let lastCopy: Message | undefined;
let lastDelivery: Delivery | undefined;
let lastDetachedDelivery: Delivery | undefined;

/**
 * The message with a payload of its own. Decoded payloads are views into a shared 64 KiB
 * slab; a message kept for long (retained, queued for an offline client) must not keep a
 * whole slab alive for a few bytes, so its payload is copied into memory sized for it
 * (payload-memory.ts). Consecutive calls for one message share one copy.
 */
export function detachPayload(message: Message): Message {
  if (message === lastOriginal) return lastCopy!;
  const payload = message.payload;
  if (ownsItsMemory(payload)) return message;
  const copy: Message = {
    id: message.id,
    topic: message.topic,
    payload: copyToOwnMemory(payload),
    qos: message.qos,
    retain: message.retain,
    properties: message.properties,
    expiresAt: message.expiresAt,
    origin: message.origin,
    publisher: message.publisher,
    queueRefs: 0,
  };
  lastOriginal = message;
  lastCopy = copy;
  return copy;
}

/**
 * The same delivery, its message detached from shared memory (see {@link detachPayload}).
 * Deliveries are immutable: consecutive calls for one delivery share one result.
 */
export function detachDelivery(delivery: Delivery): Delivery {
  if (delivery === lastDelivery) return lastDetachedDelivery!;
  const message = detachPayload(delivery.message);
  // A literal of the delivery's own shape (not a spread): this runs once per queued message.
  const detached: Delivery =
    message === delivery.message
      ? delivery
      : {
          message,
          qos: delivery.qos,
          retain: delivery.retain,
          subscriptionIds: delivery.subscriptionIds,
          shareFilter: delivery.shareFilter,
        };
  lastDelivery = delivery;
  lastDetachedDelivery = detached;
  return detached;
}

/** True when the message's expiry has passed [MQTT-3.3.2-5]. */
export function isExpired(message: Message, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}

/** Seconds left of the message's expiry, rounded up, for the forwarded interval [MQTT-3.3.2-6]. */
export function remainingExpirySeconds(message: Message, now: number): number | undefined {
  if (message.expiresAt === undefined) return undefined;
  return Math.max(1, Math.ceil((message.expiresAt - now) / 1000));
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
