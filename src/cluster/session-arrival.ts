/**
 * A session arriving on this node from a live peer (a session move, session-move.ts): between
 * the peer's "hold" (the client's connection closed there, the session kept and still routed
 * there) and the moment this node reads the session from the store, this node already routes
 * its subscriptions, to a stand-in subscriber that parks what it gets in memory. Once the
 * peer let go (after the route barrier: nothing can reach the peer any more that was routed
 * to it only) the session is read, and the parked messages are delivered to it, except those
 * the peer had queued for it as well (the same message id: ids are unique across the cluster,
 * node id in the high bits, and a forwarded or stored message keeps its id).
 *
 * A stand-in that parks a message read from this node's inbox pins the inbox's position
 * (parked-position.ts) until its session landed: if this node is killed meanwhile, the
 * survivor reads those entries again for the session. A client's QoS 1/2 message published
 * on this node itself has no inbox entry to pin: its acknowledgement waits until the session
 * landed and the store has the message in the session's queue (landing-wait.ts).
 *
 * Only a session on its way in has a stand-in: the publish path of every other session is
 * untouched, and the stand-in costs one map lookup per message it gets.
 */
import {
  type AckWaits,
  type BrokerCore,
  type Delivery,
  type Session,
  type Subscriber,
  subscriptionFromStored,
} from '../core/index.js';
import type { Logger, StoredSessionRecord } from '../ports/index.js';
import { heldMessageIds } from './held-message-ids.js';
import { LandingWait } from './landing-wait.js';
import { ownMessageDelivery } from './own-message.js';
import type { ParkedPosition } from './parked-position.js';

/** Subscriber ids of stand-ins: U+0000 is never part of a client id [MQTT-1.5.4-2]. */
const ARRIVING_PREFIX = '\u0000arriving:';
/** Numbers stand-ins: two for one client id (a takeover during a hand-over) stay apart. */
let standIns = 0;

/** Counters of session arrivals. */
export interface ArrivalCounters {
  /** Sessions that arrived through a stand-in. */
  arrived: number;
  /** Parked messages delivered to their session once it was read. */
  delivered: number;
  /** Parked messages the session had already (queued by the node that let go). */
  duplicates: number;
  /** Parked messages dropped: the move failed, or more than a session may queue. */
  dropped: number;
}

/** The stand-in of an arriving session in the router. */
export class ArrivingSession implements Subscriber {
  readonly subscriberId: string;
  /** Offline: a shared group prefers an online member, as it would the offline session. */
  readonly online = false;
  readonly parked: Delivery[] = [];
  readonly filters: string[] = [];
  matchStamp = 0;
  matchQos = 0;
  matchRetainAsPublished = false;
  matchSubscriptionIds: number[] | undefined = undefined;
  /** What the acknowledgements of the publishes it parked wait for (made on the first). */
  landing: LandingWait | undefined;

  constructor(
    readonly clientId: string,
    private readonly sessions: ReadonlyMap<string, Session>,
    private readonly limit: number,
    private readonly counters: ArrivalCounters,
    private readonly pins: ParkedPosition | undefined,
    /** The core's per-publish waits of acknowledgements (undefined: no store, no wait). */
    private readonly acks: AckWaits | undefined,
  ) {
    this.subscriberId = `${ARRIVING_PREFIX}${++standIns}:${clientId}`;
  }

  deliver(delivery: Delivery): void {
    const session = this.sessions.get(this.clientId);
    if (session === undefined) {
      if (this.parked.length < this.limit) {
        this.parked.push(delivery);
        this.pins?.pin(this); // read from the inbox: its position stays before this entry
        // A client's publish on this node (no entry to pin): its acknowledgement waits for
        // the landing. A QoS 0 delivery is not kept by an offline session: nothing to wait for.
        if (delivery.qos > 0 && this.acks !== undefined) {
          this.landing ??= new LandingWait();
          this.acks.hold(this.landing.promise);
        }
      } else this.counters.dropped++;
      return;
    }
    // The session is read (its own subscriptions are routed): it got its own copy, except
    // of a shared group's message, which went to this member instead of it.
    if (delivery.shareFilter !== undefined) session.deliver(delivery);
  }
}

/** Stand-ins of the sessions arriving on this node. */
export class SessionArrivals {
  readonly counters: ArrivalCounters = { arrived: 0, delivered: 0, duplicates: 0, dropped: 0 };

  constructor(
    private readonly core: BrokerCore,
    private readonly logger: Logger,
    /** Settles once the route changes so far are written and announced. */
    private readonly routesCommitted: () => Promise<void>,
    /** The inbox entries stand-ins parked messages from (none: no store nodes share). */
    private readonly pins?: ParkedPosition,
  ) {}

  /**
   * Routes the subscriptions the store holds for `clientId` to a stand-in and waits until
   * their routes are announced. Undefined when the store holds no session for it.
   */
  async begin(clientId: string): Promise<ArrivingSession | undefined> {
    return (await this.beginAll([clientId])).get(clientId);
  }

  /**
   * {@link begin} for several sessions (a drain hand-over), their routes announced together.
   * The client ids the store holds no session for are left out.
   */
  async beginAll(clientIds: readonly string[]): Promise<Map<string, ArrivingSession>> {
    const arriving = new Map<string, ArrivingSession>();
    const store = this.core.persistence?.store;
    if (store === undefined) return arriving;
    try {
      for (const clientId of clientIds) {
        const record = await store.loadSession(clientId);
        if (record !== undefined) arriving.set(clientId, this.route(clientId, record));
      }
      await this.routesCommitted();
    } catch (err) {
      for (const stand of arriving.values()) this.cancel(stand, 'its session could not be read');
      throw err;
    }
    return arriving;
  }

  private route(clientId: string, record: StoredSessionRecord): ArrivingSession {
    const limit = this.core.options.maxQueuedMessages;
    const { sessions } = this.core;
    const acks = this.core.persistence && this.core.pipeline.ackWaits;
    const arriving = new ArrivingSession(clientId, sessions, limit, this.counters, this.pins, acks);
    for (const sub of record.subscriptions) {
      arriving.filters.push(sub.filter);
      this.core.router.add(subscriptionFromStored(arriving, sub));
    }
    return arriving;
  }

  /**
   * The session was read into this node (its subscriptions are routed): the stand-in leaves
   * the router (the filters stay announced: the session subscribes to them now) and its
   * parked messages go to the session, but for those it holds already.
   */
  async land(arriving: ArrivingSession, session: Session): Promise<void> {
    try {
      await this.deliverParked(arriving, session);
    } catch (err) {
      // The publishes whose acknowledgements wait for this landing are refused: sent again.
      arriving.landing?.failed(err);
      throw err;
    }
  }

  private async deliverParked(arriving: ArrivingSession, session: Session): Promise<void> {
    this.unroute(arriving);
    const parked = arriving.parked.splice(0);
    if (parked.length === 0) {
      this.pins?.unpin(arriving);
      arriving.landing?.landed(Promise.resolve()); // none parked: none waits
      this.counters.arrived++;
      return;
    }
    let held: Set<number>;
    try {
      held = await heldMessageIds(this.core, session);
    } catch (err) {
      this.pins?.unpin(arriving); // dropped: nothing to pin for any more
      this.counters.dropped += parked.length;
      throw err;
    }
    let delivered = 0;
    let duplicates = 0;
    for (const delivery of parked) {
      if (held.has(delivery.message.id)) {
        duplicates++;
        continue;
      }
      // [MQTT-3.8.3-3] the stand-in's id is not the client id: an own message goes through
      // the matching subscriptions without No Local only (none: not delivered).
      const through =
        delivery.message.origin === session.clientId
          ? ownMessageDelivery(session, delivery)
          : delivery;
      if (through === undefined) continue;
      session.deliver(through);
      delivered++;
    }
    // The deliveries are in the store's batch being filled: the inbox's position, committed
    // now in that batch, may pass the entries they came from.
    this.pins?.unpin(arriving);
    // The acknowledgements of the local publishes parked go once that batch is committed.
    arriving.landing?.landed(this.core.persistence?.store.commit() ?? Promise.resolve());
    this.counters.arrived++;
    this.counters.delivered += delivered;
    this.counters.duplicates += duplicates;
    this.logger.debug(
      { clientId: session.clientId, parked: parked.length, delivered },
      'cluster: arriving session got the messages parked for it',
    );
  }

  /**
   * The move did not happen: the stand-in leaves the router, its parked messages are dropped.
   * The acknowledgements of the local publishes it parked go (the old node kept the session
   * routed: they were forwarded to it too), unless `failure` says the session let go of there
   * could not be read here: they are then refused (sent again).
   */
  cancel(arriving: ArrivingSession, why: string, failure?: unknown): void {
    this.unroute(arriving);
    this.pins?.unpin(arriving);
    if (failure === undefined) arriving.landing?.abandoned();
    else arriving.landing?.failed(failure);
    const dropped = arriving.parked.splice(0).length;
    this.counters.dropped += dropped;
    if (dropped > 0) {
      this.logger.warn(
        { clientId: arriving.clientId, dropped, why },
        'cluster: a session move did not complete: messages parked for the session dropped',
      );
    }
  }

  private unroute(arriving: ArrivingSession): void {
    for (const filter of arriving.filters.splice(0)) this.core.router.remove(arriving, filter);
  }
}
