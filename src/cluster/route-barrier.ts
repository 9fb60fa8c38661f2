/**
 * The route barrier of a session move (session-move.ts): before the node holding a session
 * lets go of it, every member appends a marker to that node's inbox once it has applied the
 * new node's route, after the forwards it routed before. Once the holder has read every
 * marker, nothing routed to it alone can still come.
 */
import type { Logger } from '../ports/index.js';
import { publish, type RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import type { Outbox } from './outbox.js';
import type { NodeIdentity } from './owners.js';

/** How often a route barrier looks again for markers and leases (ms). */
const BARRIER_POLL_MS = 50;
/** How long a route barrier waits for a marker at most, in leases (`timeoutMs`). */
export const BARRIER_LEASES = 2;

/** What a route barrier needs of the node. */
export interface RouteBarrierParts {
  readonly redis: RedisClient;
  readonly keys: ClusterKeys;
  readonly self: NodeIdentity;
  readonly outbox: Outbox;
  readonly logger: Logger;
  /** A lease (ms): a barrier waits `BARRIER_LEASES` of them at most. */
  readonly timeoutMs: number;
}

/** Route barriers run here, and markers appended for other nodes' barriers. */
export class RouteBarriers {
  /** Per route barrier under way here (its move id): the nodes whose marker came. */
  private readonly markers = new Map<string, Set<number>>();
  private readonly wakers = new Map<string, () => void>();
  /** Route barriers that timed out (a marker missing from a live peer). */
  timeouts = 0;
  /**
   * Waits until the QoS 0 messages Redis pushed to this node's QoS 0 connection so far are
   * routed (qos0-receiver.ts; undefined without it). A peer publishes its QoS 0 batch to this
   * node before its marker, on one connection, but they reach this node on two: once every
   * marker is read, this catches up the other, so that a QoS 0 message routed here alone
   * before the peer applied the new route still finds the session.
   */
  drainQos0: ((timeoutMs: number) => Promise<void>) | undefined;

  constructor(private readonly parts: RouteBarrierParts) {}

  /** Another node's route barrier: a marker to its inbox, after what was routed to it so far. */
  onBarrier(to: number, move: string): void {
    this.parts.outbox.mark(to, `${this.parts.self.nodeId} ${move}`);
  }

  /** A marker read from this node's inbox (after every forward its node sent before it). */
  onMarker(marker: string): void {
    const space = marker.indexOf(' ');
    const got = this.markers.get(marker.slice(space + 1));
    if (space < 0 || got === undefined) return; // a barrier that ended (timed out)
    got.add(Number(marker.slice(0, space)));
    this.wakers.get(marker.slice(space + 1))?.();
  }

  /**
   * Waits until every member (and this node, and the node the session moves to) appended its
   * marker for `move` to this node's inbox and this node read it; a member whose lease ended
   * meanwhile is excused. The members are read from Redis, not from the last heartbeat: a
   * node that joined since routes too. Never rejects (a failure or a timeout is logged).
   */
  async run(move: string, what: string, to: number): Promise<void> {
    const { redis, keys, logger, timeoutMs } = this.parts;
    const self = this.parts.self.nodeId;
    const got = new Set<number>();
    this.markers.set(move, got);
    try {
      const members = (await redis.smembers(keys.members)).map(Number);
      const expected = new Set([...members.filter(Number.isInteger), self, to]);
      const text = JSON.stringify({ t: 'barrier', to: self, req: move });
      // A node that joined and is not subscribed to its control channel yet hears nothing
      // (PUBLISH reaches 0 receivers): asked again each round until it hears it. (On a Redis
      // Cluster the count is the receiving Redis node's only: a node subscribed elsewhere is
      // asked again, and its extra markers are ignored.)
      const unheard = new Set<number>(expected);
      const ask = async (nodes: Iterable<number>): Promise<void> => {
        await Promise.all(
          [...nodes].map(async (node) => {
            if ((await publish(redis, keys.control(node), text)) > 0) unheard.delete(node);
          }),
        );
      };
      await ask(expected);
      // A peer killed just after it renewed its lease is excused only once the lease expired.
      const deadline = Date.now() + BARRIER_LEASES * timeoutMs;
      for (;;) {
        const missing = await this.missingMarkers(expected, got);
        if (missing.length === 0) {
          // Only with cluster.qos0Channel; without it QoS 0 came by the inbox, before the markers.
          if (this.drainQos0 !== undefined) await this.drainQos0(timeoutMs);
          return;
        }
        await ask(missing.filter((node) => unheard.has(node)));
        if (Date.now() >= deadline) {
          this.timeouts++;
          logger.warn(
            { clientId: what, missing },
            'cluster: session move: route barrier timed out; letting go without it (messages published meanwhile may miss the session)',
          );
          return;
        }
        await this.wake(move);
      }
    } catch (err) {
      logger.warn(
        { err: String(err), clientId: what },
        'cluster: session move: route barrier failed',
      );
    } finally {
      this.markers.delete(move);
      this.wakers.delete(move);
    }
  }

  /**
   * The nodes of `expected` whose marker has not come and whose lease is still held (a node
   * killed during the barrier is excused once its lease expired: it routes nothing more).
   */
  private async missingMarkers(expected: Set<number>, got: Set<number>): Promise<number[]> {
    const { redis, keys } = this.parts;
    const self = this.parts.self.nodeId;
    const missing: number[] = [];
    for (const node of expected) {
      if (got.has(node)) continue;
      if (node !== self && (await redis.exists(keys.lease(node))) === 0) continue;
      missing.push(node);
    }
    return missing;
  }

  /** Resolves when a marker of `move` came, or after BARRIER_POLL_MS. */
  private wake(move: string): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, BARRIER_POLL_MS);
      const wakers = this.wakers;
      function done(): void {
        clearTimeout(timer);
        wakers.delete(move);
        resolve();
      }
      wakers.set(move, done);
    });
  }
}
