/**
 * Router: matches a message against the subscription trie and hands one delivery to each
 * matching subscriber (merging overlapping subscriptions of one subscriber), and one delivery
 * per matching shared group to one of its members. Subscribers are local sessions today, and
 * may be remote targets (subscriber.ts): the router does not tell them apart.
 */
import type { QoS } from '../protocol/index.js';
import type { SharedGroup } from '../topic/index.js';
import { SubscriptionTrie } from '../topic/index.js';
import type { Delivery, Message } from './message.js';
import type { FanoutCache, Subscriber } from './subscriber.js';
import type { Subscription } from './subscription.js';

/**
 * Told when a subscriber's first subscription to a filter enters the router, and when it
 * leaves (a cluster announces its nodes' filters to the others this way). Called on
 * subscribe, unsubscribe and session end: never while a message is routed.
 */
export interface RouteObserver {
  added(subscription: Subscription): void;
  removed(subscriber: Subscriber, filter: string): void;
}

/**
 * How a message accepted by another node is routed here (see {@link Router.routeForwarded}):
 * which shared groups this node was chosen for, and which members are this node's own.
 */
export interface ForwardedScope {
  /** The `$share/group/filter`s whose delivery the sending node gave to this node. */
  readonly shareFilters: readonly string[] | undefined;
  /** True for a member this node cannot deliver to itself (a remote node's target). */
  isRemote(subscriber: Subscriber): boolean;
  /**
   * When set, only the subscribers it accepts get the message (a dead node's inbox read by
   * the survivor that adopted its sessions: those sessions only, never this node's own).
   */
  readonly only?: ((subscriber: Subscriber) => boolean) | undefined;
}

/** Subscriptions of every subscriber, and message dispatch to them. */
export class Router {
  private readonly trie = new SubscriptionTrie<Subscription>();
  private stamp = 0;
  /**
   * Subscribers matched by the publish being routed: the first `touchedCount` entries (the
   * array is reused across publishes). Emptied by count, never by `length = 0`: V8 gives
   * an array's backing store back when its length drops to 0, and the next push made a new
   * one, about 150 bytes per published message.
   */
  private readonly touched: (Subscriber | undefined)[] = [];
  private touchedCount = 0;
  private current: Message | undefined;
  /** Publishes made by hooks during a fan-out, routed when it ends. */
  private readonly nested: Message[] = [];
  private sharedDeliveries = 0;
  private observer: RouteObserver | undefined;
  /** Set while a message from another node is routed (routeForwarded). */
  private scope: ForwardedScope | undefined;
  /** Per publish: the Delivery shared by subscribers of one wire form (see deliverMerged). */
  private readonly sharedSlots: (Delivery | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];

  /** Number of subscriptions, shared ones included. */
  get size(): number {
    return this.trie.size;
  }

  /** Number of shared subscriptions (one per member of each `$share` group). */
  get sharedSize(): number {
    return this.trie.sharedSize;
  }

  /** Adds or replaces a subscription; true when it is new [MQTT-3.8.4-3]. */
  add(subscription: Subscription): boolean {
    const added = this.trie.add(
      subscription.filter,
      subscription.subscriber.subscriberId,
      subscription,
    );
    if (added && this.observer !== undefined) this.observer.added(subscription);
    return added;
  }

  /** Removes one subscription of a subscriber; true when it existed. */
  remove(subscriber: Subscriber, filter: string): boolean {
    const removed = this.trie.remove(filter, subscriber.subscriberId);
    if (removed && this.observer !== undefined) this.observer.removed(subscriber, filter);
    return removed;
  }

  /** Tells `observer` of every subscription added or removed from now on (one observer). */
  observe(observer: RouteObserver | undefined): void {
    this.observer = observer;
  }

  /**
   * Routes a message another node accepted and sent here: to every matching subscriber as
   * {@link route} does, but a shared group takes part only when `scope.shareFilters` names
   * it (the sending node chose this node for it) and then picks one of this node's own
   * members. Remote targets must drop what they are handed meanwhile (no forwarding loops).
   */
  routeForwarded(message: Message, scope: ForwardedScope): number {
    this.scope = scope;
    try {
      return this.route(message);
    } finally {
      this.scope = undefined;
    }
  }

  /** Routes a message to every matching subscription. Returns the number of deliveries made. */
  route(message: Message): number {
    if (this.current !== undefined) {
      // A hook published while this router fans out (e.g. from onDelivered): the scratch
      // state belongs to the outer publish, so the inner one is routed right after it.
      // Its delivery count is not known yet: 0 is returned.
      this.nested.push(message);
      return 0;
    }
    const delivered = this.routeOne(message);
    while (this.nested.length > 0) this.routeOne(this.nested.shift()!);
    return delivered;
  }

  private routeOne(message: Message): number {
    const stamp = ++this.stamp;
    this.current = message;
    this.sharedDeliveries = 0;
    this.touchedCount = 0;
    try {
      this.trie.match(message.topic, this.onEntry, this.onGroup);
      const touched = this.touchedCount;
      const delivered = touched + this.sharedDeliveries;
      if (touched > 0) this.deliverMerged(message, stamp);
      return delivered;
    } finally {
      this.current = undefined;
    }
  }

  /** Gives a delivery that a leaving member did not take to another member of its group. */
  redispatchShared(delivery: Delivery, leaving: Subscriber): boolean {
    let chosen: Subscription | undefined;
    this.trie.match(
      delivery.message.topic,
      () => {},
      (group) => {
        if (chosen || group.shareFilter !== delivery.shareFilter) return;
        chosen = pickMember(group, leaving);
      },
    );
    if (!chosen) return false;
    chosen.subscriber.deliver({ ...delivery, qos: minQos(delivery.message.qos, chosen.qos) });
    return true;
  }

  private readonly onEntry = (_key: string, sub: Subscription): void => {
    const message = this.current!;
    const target = sub.subscriber;
    if (sub.noLocal && message.origin === target.subscriberId) return; // [MQTT-3.8.3-3]
    if (target.matchStamp !== this.stamp) {
      target.matchStamp = this.stamp;
      target.matchQos = sub.qos;
      target.matchRetainAsPublished = sub.retainAsPublished;
      target.matchSubscriptionIds =
        sub.subscriptionId === undefined ? undefined : [sub.subscriptionId];
      this.touched[this.touchedCount++] = target;
      return;
    }
    // Overlapping subscriptions of one client: one copy at the highest QoS, carrying every
    // matching subscription identifier [MQTT-3.3.4-2] [MQTT-3.3.4-4].
    if (sub.qos > target.matchQos) target.matchQos = sub.qos;
    target.matchRetainAsPublished ||= sub.retainAsPublished;
    if (sub.subscriptionId !== undefined) {
      (target.matchSubscriptionIds ??= []).push(sub.subscriptionId);
    }
  };

  private readonly onGroup = (group: SharedGroup<Subscription>): void => {
    const message = this.current!;
    const scope = this.scope;
    if (scope !== undefined && !scope.shareFilters?.includes(group.shareFilter)) return;
    const member = pickMember(group, undefined, scope);
    if (!member) return;
    this.sharedDeliveries++;
    member.subscriber.deliver({
      message,
      qos: minQos(message.qos, member.qos),
      retain: member.retainAsPublished ? message.retain : false,
      subscriptionIds: member.subscriptionId === undefined ? undefined : [member.subscriptionId],
      shareFilter: group.shareFilter,
    });
  };

  private deliverMerged(message: Message, stamp: number): void {
    const touched = this.touched;
    const count = this.touchedCount;
    const cache: FanoutCache | undefined = count > 1 ? { slots: [] } : undefined;
    // Deliveries are immutable, so subscribers with the same QoS and retain flag and no
    // subscription identifiers share one object (index qos*2 + retain). The slot array is
    // the router's own, cleared below: no array per publish.
    const shared = this.sharedSlots;
    // Read once per publish: undefined but for a dead node's inbox (see ForwardedScope).
    const only = this.scope?.only;
    for (let i = 0; i < count; i++) {
      const target = touched[i]!;
      touched[i] = undefined; // the scratch array keeps no subscriber past its publish
      if (target.matchStamp !== stamp) continue;
      if (only !== undefined && !only(target)) {
        target.matchSubscriptionIds = undefined;
        continue;
      }
      const qos = minQos(message.qos, target.matchQos as QoS); // [MQTT-3.8.4-8]
      // [MQTT-3.3.1-12] retain is cleared unless Retain As Published [MQTT-3.3.1-13].
      const retain = target.matchRetainAsPublished ? message.retain : false;
      const ids = target.matchSubscriptionIds;
      let delivery: Delivery;
      if (ids === undefined) {
        const slot = qos * 2 + (retain ? 1 : 0);
        delivery = shared[slot] ??= {
          message,
          qos,
          retain,
          subscriptionIds: undefined,
          shareFilter: undefined,
        };
      } else {
        delivery = { message, qos, retain, subscriptionIds: ids, shareFilter: undefined };
      }
      target.matchSubscriptionIds = undefined;
      target.deliver(delivery, cache);
    }
    this.touchedCount = 0;
    shared.fill(undefined);
  }
}

/** Lower of two QoS levels. */
export function minQos(a: QoS, b: QoS): QoS {
  return a < b ? a : b;
}

/**
 * Round-robin over the group's members, preferring online ones (a connected session, a
 * reachable remote target); an offline member is used only when no member is online (a
 * persistent session's queue keeps the message).
 */
function pickMember(
  group: SharedGroup<Subscription>,
  exclude: Subscriber | undefined,
  scope?: ForwardedScope,
): Subscription | undefined {
  if (scope !== undefined) return pickLocalMember(group, scope);
  const count = group.members.size;
  if (count === 0) return undefined;
  const start = group.cursor % count;
  let index = 0;
  let fallback: Subscription | undefined;
  let chosen: Subscription | undefined;
  let chosenIndex = -1;
  // Two passes over the insertion-ordered map: from the cursor to the end, then the start.
  for (const member of group.members.values()) {
    if (member.subscriber !== exclude) {
      const online = member.subscriber.online;
      if (index >= start && online && !chosen) {
        chosen = member;
        chosenIndex = index;
      }
      if (index < start && online && !fallback) fallback = member;
    }
    index++;
  }
  if (!chosen && fallback) {
    chosen = fallback;
    chosenIndex = indexOf(group, fallback);
  }
  if (!chosen) {
    for (const member of group.members.values()) {
      if (member.subscriber !== exclude) {
        chosen = member;
        chosenIndex = indexOf(group, member);
        break;
      }
    }
  }
  if (chosen) group.cursor = chosenIndex + 1;
  return chosen;
}

/**
 * Round-robin over this node's own members of a group (a message another node sent here for
 * the group): the first online member from the cursor on, else the first online one, else
 * the first offline one (its session queues the message).
 */
function pickLocalMember(
  group: SharedGroup<Subscription>,
  scope: ForwardedScope,
): Subscription | undefined {
  const start = group.cursor % Math.max(1, group.members.size);
  let afterCursor: Subscription | undefined;
  let beforeCursor: Subscription | undefined;
  let offline: Subscription | undefined;
  let index = 0;
  for (const member of group.members.values()) {
    const subscriber = member.subscriber;
    if (!scope.isRemote(subscriber)) {
      if (!subscriber.online) offline ??= member;
      else if (index >= start) afterCursor ??= member;
      else beforeCursor ??= member;
    }
    index++;
  }
  const chosen = afterCursor ?? beforeCursor ?? offline;
  if (chosen) group.cursor = indexOf(group, chosen) + 1;
  return chosen;
}

function indexOf(group: SharedGroup<Subscription>, member: Subscription): number {
  let i = 0;
  for (const m of group.members.values()) {
    if (m === member) return i;
    i++;
  }
  return -1;
}
