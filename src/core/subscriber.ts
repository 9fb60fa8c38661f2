/**
 * What a subscription delivers to. Today every subscriber is a local Session; a remote node
 * of a cluster, or a bridge, implements the same interface and the router hands it the
 * messages its subscriptions match (once per publish, overlapping filters merged), while
 * shared-subscription groups choose among members of either kind.
 *
 * The QoS 0 fan-out loop calls `deliver` and writes the scratch fields below for every
 * matched subscriber. With only sessions subscribed (a single node) those sites see one
 * class and stay monomorphic; a second kind of subscriber makes them polymorphic, never
 * megamorphic.
 */
import type { Delivery } from './message.js';

/** Encoded PUBLISH bytes shared across the subscribers of one fan-out, by wire form. */
export interface FanoutCache {
  slots: (Buffer | undefined)[];
}

/** A target of subscriptions: a local session, or (later) a remote node or a bridge. */
export interface Subscriber {
  /**
   * The key of its subscriptions in the router: unique among subscribers (a session's client
   * id; a remote target picks a key no client id takes). A message whose `origin` equals it
   * is not delivered through a No Local subscription [MQTT-3.8.3-3].
   */
  readonly subscriberId: string;
  /**
   * True while it takes messages at once (a connected session, a reachable node): a shared
   * group gives a message to an online member before an offline one.
   */
  readonly online: boolean;
  /** Takes one delivery (sends, queues or drops it; the subscriber decides and counts). */
  deliver(delivery: Delivery, cache?: FanoutCache): void;

  // Scratch fields the router uses to merge overlapping matches of one publish without
  // allocating (router.ts). Initialise them to 0 / false / undefined.
  matchStamp: number;
  matchQos: number;
  matchRetainAsPublished: boolean;
  matchSubscriptionIds: number[] | undefined;
}
