/**
 * Another node of the cluster as one subscriber in this node's router: its route table's
 * filters are its subscriptions here, so a publish matching any number of its sessions'
 * subscriptions gives it one delivery (the router merges them), and a publish it does not
 * want never reaches it (no Redis round trip). In a shared group it is one member, standing
 * for all of its node's members of the group.
 */
import type { Delivery, FanoutCache, Subscriber } from '../core/index.js';

/** Where a remote node's deliveries go (the outbox batches them per node). */
export interface ForwardSink {
  /** True while a message from another node is being routed here: it is not sent on. */
  readonly receiving: boolean;
  forward(node: RemoteNode, delivery: Delivery): void;
}

/** The subscriber id prefix of remote nodes: U+0000 is never part of a client id [MQTT-1.5.4-2]. */
const REMOTE_PREFIX = '\u0000node:';

/** One peer node, as a subscriber. */
export class RemoteNode implements Subscriber {
  readonly subscriberId: string;
  /** False while Redis is unreachable: a shared group prefers a member on this node then. */
  online = true;
  /** The filters of its route table that are in the router. */
  readonly filters = new Set<string>();
  matchStamp = 0;
  matchQos = 0;
  matchRetainAsPublished = false;
  matchSubscriptionIds: number[] | undefined = undefined;

  constructor(
    readonly nodeId: number,
    private readonly sink: ForwardSink,
  ) {
    this.subscriberId = `${REMOTE_PREFIX}${nodeId}`;
  }

  deliver(delivery: Delivery, _cache?: FanoutCache): void {
    // A message from another node is delivered here only: never forwarded again (no loops).
    if (this.sink.receiving) return;
    this.sink.forward(this, delivery);
  }
}

/** True for a router subscriber that stands for another node. */
export function isRemoteNode(subscriber: Subscriber): boolean {
  return subscriber instanceof RemoteNode;
}
