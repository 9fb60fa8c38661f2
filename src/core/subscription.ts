/**
 * A subscription as the broker keeps it: the subscriber it belongs to and its options.
 */
import type { QoS } from '../protocol/index.js';
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
