/**
 * A subscription as the broker keeps it: the subscriber it belongs to and its options.
 */
import type { StoredSubscription } from '../ports/index.js';
import type { QoS } from '../protocol/index.js';
import { parseSharedFilter } from '../topic/index.js';
import type { Subscriber } from './subscriber.js';

/** One topic filter of one subscriber, with its MQTT 5 options. */
export interface Subscription {
  /** Who it delivers to: a local session (or a remote target, see subscriber.ts). */
  readonly subscriber: Subscriber;
  /** The filter exactly as subscribed (a `$share/group/...` filter included). */
  readonly filter: string;
  /** Granted QoS. */
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier, if the SUBSCRIBE carried one. */
  readonly subscriptionId: number | undefined;
  /** Group name when `filter` is a shared subscription. */
  readonly shareGroup: string | undefined;
}

/** The subscription a stored one stands for, delivering to `subscriber`. */
export function subscriptionFromStored(
  subscriber: Subscriber,
  stored: StoredSubscription,
): Subscription {
  return {
    subscriber,
    filter: stored.filter,
    qos: stored.qos,
    noLocal: stored.noLocal,
    retainAsPublished: stored.retainAsPublished,
    retainHandling: stored.retainHandling,
    subscriptionId: stored.subscriptionId,
    shareGroup: parseSharedFilter(stored.filter)?.group,
  };
}
