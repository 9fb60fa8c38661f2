/**
 * A session's own message parked for it while it moved here (session-arrival.ts), delivered
 * as the router would have delivered it to the session itself. The stand-in's subscriber id
 * is not the client id, so the router matched every subscription of the session for it, No
 * Local ones included; here the No Local ones are left out [MQTT-3.8.3-3], and what is left
 * is merged as the router merges overlapping subscriptions (router.ts, onEntry): one copy at
 * the highest granted QoS, Retain As Published if any of them has it, carrying the
 * subscription identifiers of those subscriptions only [MQTT-3.3.4-2] [MQTT-3.3.4-4].
 */
import type { Delivery, Session } from '../core/index.js';
import type { QoS } from '../protocol/index.js';
import { topicMatchesFilter } from '../topic/index.js';

/**
 * The delivery of `delivery`'s message, an own message of `session` (its origin is the
 * session's client id), through the session's matching subscriptions without No Local, or
 * undefined when every matching one is No Local. A shared subscription's delivery is not one
 * of these (No Local on a shared subscription is a Protocol Error [MQTT-3.8.3-4]): it goes
 * as it came.
 */
export function ownMessageDelivery(session: Session, delivery: Delivery): Delivery | undefined {
  if (delivery.shareFilter !== undefined) return delivery;
  const { message } = delivery;
  let granted = -1;
  let retainAsPublished = false;
  let subscriptionIds: number[] | undefined;
  for (const sub of session.subscriptions.values()) {
    if (sub.shareGroup !== undefined || !topicMatchesFilter(message.topic, sub.filter)) continue;
    if (sub.noLocal) continue; // [MQTT-3.8.3-3]
    if (sub.qos > granted) granted = sub.qos;
    retainAsPublished ||= sub.retainAsPublished;
    if (sub.subscriptionId !== undefined) (subscriptionIds ??= []).push(sub.subscriptionId);
  }
  if (granted < 0) return undefined;
  return {
    message,
    qos: Math.min(message.qos, granted) as QoS, // [MQTT-3.8.4-8]
    retain: retainAsPublished ? message.retain : false, // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
    subscriptionIds,
    shareFilter: undefined,
  };
}
