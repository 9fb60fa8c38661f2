/**
 * Following the pub/sub connection of an ioredis `Cluster`. A Cluster client does its
 * SUBSCRIBEs on one connection to one node of the Redis Cluster (its ClusterSubscriber).
 * When that node fails, the ClusterSubscriber opens a connection to another node and
 * subscribes there again, but says so to no one: the Cluster's own `ready` and `close` are
 * about the whole cluster, and the `+subscriber`/`-subscriber` events of ioredis 6 are those
 * of sharded pub/sub only. Messages published meanwhile were never delivered to us, so the
 * caller needs to know of the move to read again what it may have missed.
 *
 * There is no public way (ioredis 6.0.0), so this reaches into the Cluster's private
 * `subscriber` (a ClusterSubscriber): every new connection it makes goes through its
 * `selectSubscriber()` (at start, after the connection ended, after its node left the pool,
 * when a node appears while there was none), which is wrapped here to watch the connection
 * it made. `getInstance()` returns that connection. When those are missing (another ioredis),
 * {@link followClusterSubscriber} says so and follows nothing.
 */
import type { Cluster, Redis } from 'ioredis';

/** What the followed connection tells. */
export interface SubscriberEvents {
  /** A pub/sub connection is ready, to the node `via` (`host:port`). */
  ready?(via: string): void;
  /** The current pub/sub connection closed (ioredis picks another node). */
  closed?(): void;
}

/** The part of ioredis's ClusterSubscriber used here (private in its typings). */
interface ClusterSubscriberInternals {
  selectSubscriber(): void;
  getInstance(): Redis | null;
}

function internalsOf(cluster: Cluster): ClusterSubscriberInternals | undefined {
  const inner = (cluster as unknown as { subscriber?: Partial<ClusterSubscriberInternals> })
    .subscriber;
  if (typeof inner?.selectSubscriber !== 'function' || typeof inner.getInstance !== 'function') {
    return undefined;
  }
  return inner as ClusterSubscriberInternals;
}

/**
 * Calls `events.ready` each time `cluster`'s pub/sub connection (a new one after a move
 * included) is ready, and `events.closed` when the current one closes. Call before the
 * cluster connects. Returns false when this ioredis has no ClusterSubscriber as expected
 * (nothing is followed then).
 */
export function followClusterSubscriber(cluster: Cluster, events: SubscriberEvents): boolean {
  const inner = internalsOf(cluster);
  if (inner === undefined) return false;
  const select = inner.selectSubscriber;
  inner.selectSubscriber = function (this: ClusterSubscriberInternals) {
    select.call(this);
    const connection = this.getInstance();
    if (connection !== null) watch(inner, connection, events);
  };
  return true;
}

function watch(inner: ClusterSubscriberInternals, connection: Redis, events: SubscriberEvents) {
  const via = `${connection.options.host}:${connection.options.port}`;
  // The connection does not reconnect (ioredis makes a new one): one ready at most.
  connection.once('ready', () => {
    if (inner.getInstance() === connection) events.ready?.(via);
  });
  // A connection replaced already (its node left the pool) closes after the new one exists.
  connection.once('close', () => {
    if (inner.getInstance() === connection) events.closed?.();
  });
}
