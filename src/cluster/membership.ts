/**
 * A node's membership of the cluster: it claims a node id (a lease key set with NX PX), renews
 * the lease on a heartbeat, and on the same beat checks its peers' leases. A peer whose lease
 * is gone has left (it stopped, or died and its lease expired); the first survivor to notice
 * removes what it left in Redis (route table, inbox, membership). No consensus of our own:
 * Redis's single-key atomicity decides who holds a node id.
 */

import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import {
  ANNOUNCE_LEFT,
  END_RECOVERY,
  JOIN,
  RELEASE,
  REMOVE_TRACES,
  RENEW,
} from './membership-scripts.js';
import { claimNodeId, NODE_ID_COUNT } from './node-id-claim.js';
import { heldWills, type OrphanWill, orphanWills } from './node-wills.js';
import type { ResolvedClusterOptions } from './options.js';
import { requireRedisVersion } from './redis-version.js';

/** A dead node's inbox, renamed so that only the node that removed it reads it. */
export interface OrphanInbox {
  /** The renamed stream (`orphan:<id>:<instance>`). */
  readonly key: string;
  /** The dead node's instance: its committed position is the store's cursor of it. */
  readonly instance: string;
}

/** What membership tells the rest of the cluster code. */
export interface MembershipEvents {
  /** A peer's lease appeared. */
  joined(nodeId: number): void;
  /** A peer's lease is gone. */
  left(nodeId: number): void;
  /** Our lease had vanished (Redis lost its data) and was set again: republish our state. */
  restored(): void;
  /**
   * We removed a dead peer's traces (or claimed the id of a dead node, `nodeId` our own): the
   * wills of its clients, and of other dead nodes' clients it held, are ours to send now, each
   * kept in our `orphan-wills:<id>` until it is sent or cancelled.
   */
  orphaned(nodeId: number, wills: OrphanWill[]): void;
  /**
   * We (and no other survivor) removed a dead peer's traces: its sessions are ours to adopt,
   * and its inbox, when it left one, was renamed for us to read (`orphan`).
   */
  removed(nodeId: number, orphan: OrphanInbox | undefined, instance: string | undefined): void;
  /** Our lease was renewed (each heartbeat): the moment to publish our summary. */
  beat(): void;
}

/** How long an orphaned inbox is kept at least (ms): its reader may die too. */
const ORPHAN_MIN_TTL_MS = 60_000;

/** One node's lease and its view of the others'. */
export class Membership {
  private id = -1;
  private timer: NodeJS.Timeout | undefined;
  private readonly alive = new Set<number>();
  /**
   * This node drains: it leaves the removal of dead members to the nodes that stay (it would
   * adopt their sessions and wills just as it hands its own over, and leave with them).
   */
  draining = false;
  /**
   * Peers whose lease is gone, while their sessions are adopted (with `readsOrphans`): their
   * routes stay, so that a publish for their sessions goes to their inbox (read by the
   * survivor that removes them) or, once removed, is refused, and is never routed nowhere
   * before the survivor routes those sessions. The survivor announces the departure after
   * that (`announceLeft`); as a fallback (the announcement was missed) the routes go once
   * the peer has been out of `nodes` for `leaseMs` and its `recovering:<id>` is gone (a
   * recovery whose survivor died too is taken over by the next one, who announces then).
   * The value: when it was seen out of `nodes`.
   */
  private readonly departing = new Map<number, number | undefined>();
  private beating = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly options: ResolvedClusterOptions,
    private readonly instance: string,
    private readonly logger: Logger,
    private readonly events: MembershipEvents,
    /** True when a dead node's inbox is kept for its adopter (a store with cursors). */
    private readonly readsOrphans: boolean,
  ) {}

  /**
   * The inbox a previous holder of this node id left unread (it died and this node claimed
   * the id before a survivor removed it): this node reads it for the sessions it restores.
   */
  inherited: OrphanInbox | undefined;
  /**
   * The instance that held this node id before (it died and this node claimed the id before
   * a survivor removed it): the recoveries it ran are taken over here.
   */
  previousInstance: string | undefined;

  /** This node's id (after {@link join}). */
  get nodeId(): number {
    return this.id;
  }

  /** The peers whose lease is current, as of the last heartbeat. */
  get peers(): ReadonlySet<number> {
    return this.alive;
  }

  /** Dead peers whose routes are kept until their survivor announces their departure. */
  get departingPeers(): Iterable<number> {
    return this.departing.keys();
  }

  /**
   * Claims a node id (node-id-claim.ts), clears what a previous holder of that id left, and
   * starts the heartbeat.
   * @throws Error when the configured id is held, or every id is, or Redis is too old.
   */
  async join(): Promise<number> {
    await requireRedisVersion(this.redis);
    this.id = await claimNodeId(this.redis, this.keys, this.options, this.instance);
    // A previous holder of this id died: its routes are stale, its inbox is ours to read.
    const [previous, orphan] = (await this.redis.eval(
      JOIN,
      4,
      this.keys.routes(this.id),
      this.keys.inbox(this.id),
      this.keys.members,
      this.keys.instances,
      String(this.id),
      this.instance,
      this.keys.orphan(this.id, ''),
      this.readsOrphans ? '1' : '0',
      String(this.orphanTtlMs),
    )) as [string, string];
    if (orphan !== '') this.inherited = { key: orphan, instance: previous };
    if (previous !== '' && previous !== this.instance) this.previousInstance = previous;
    // A previous holder of this id held wills of dead nodes' clients it had not sent yet.
    const held = await heldWills(this.redis, this.keys.orphanWills(this.id));
    if (held.length > 0) this.events.orphaned(this.id, held);
    await this.checkPeers(this.readsOrphans ? await this.recoveringNodes() : []);
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
    return this.id;
  }

  /** Stops the heartbeat and gives up the lease, the route table and the inbox. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.id < 0) return;
    await this.redis.eval(RELEASE, 1, this.keys.lease(this.id), this.instance);
    // Our own clients' wills were discarded at close; what our inbox holds goes with it.
    await this.removeTraces(this.id, false);
  }

  /** Renews the lease, then looks at the peers' (one beat at a time). */
  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const renewed = await this.redis.eval(
        RENEW,
        4,
        this.keys.lease(this.id),
        this.keys.members,
        this.keys.instances,
        this.keys.inbox(this.id),
        this.instance,
        String(this.options.leaseMs),
        String(this.id),
      );
      if (renewed === 0) {
        this.logger.error(
          { nodeId: this.id },
          'cluster: another node holds this node id (our lease expired): messages may go astray until restart',
        );
      } else if (renewed === 2) {
        this.logger.warn(
          { nodeId: this.id },
          'cluster: lease was lost (Redis restarted?): set again',
        );
        this.events.restored();
      } else if (renewed === 3) {
        this.logger.warn(
          { nodeId: this.id },
          'cluster: our inbox stream was gone (deleted or evicted?): made again; forwards to this node were refused meanwhile',
        );
      }
      if (renewed !== 0) this.events.beat();
      await this.checkPeers();
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'cluster: heartbeat failed (Redis unreachable?)');
    } finally {
      this.beating = false;
    }
  }

  /**
   * Dead nodes whose recovery is under way (`recovering:<id>`): removed from `nodes` by a
   * survivor that has not announced their departure yet. One MGET (one slot on a Redis
   * Cluster: every key shares the tag).
   */
  private async recoveringNodes(): Promise<number[]> {
    const ids = Array.from({ length: NODE_ID_COUNT }, (_, i) => i);
    const held = await this.redis.mget(ids.map((id) => this.keys.recovering(id)));
    return ids.filter((id) => id !== this.id && held[id] !== null);
  }

  /**
   * Compares the members' leases with what we knew: reports joins and departures.
   * `recovering` (at join): dead nodes whose survivor has not announced their departure yet.
   */
  private async checkPeers(recovering: readonly number[] = []): Promise<void> {
    const members = (await this.redis.smembers(this.keys.members)).map(Number);
    const others = members.filter((m) => m !== this.id && Number.isInteger(m));
    const leases =
      others.length === 0 ? [] : await this.redis.mget(others.map((m) => this.keys.lease(m)));
    const now = new Set<number>();
    for (let i = 0; i < others.length; i++) if (leases[i] !== null) now.add(others[i]!);
    for (const peer of now) {
      if (!this.alive.has(peer)) {
        this.alive.add(peer);
        this.departing.delete(peer);
        this.events.joined(peer);
      }
    }
    for (const peer of [...this.alive]) {
      if (!now.has(peer)) {
        this.alive.delete(peer);
        if (this.readsOrphans) this.departing.set(peer, undefined);
        else this.events.left(peer);
      }
    }
    if (this.readsOrphans) {
      const removed = recovering.filter((id) => !members.includes(id));
      this.routeUnremoved(removed.length === 0 ? others : [...others, ...removed], now);
    }
    await this.dropDeparted(members);
    for (const member of others) {
      if (now.has(member) || this.draining) continue;
      const removed = await this.removeTraces(member, this.readsOrphans);
      if (removed === undefined) continue; // back, or another survivor removed it
      if (removed.wills.length > 0) this.events.orphaned(member, removed.wills);
      this.events.removed(member, removed.orphan, removed.instance);
    }
  }

  /** The sessions of `instance` of dead node `nodeId` are recovered here: others may claim them. */
  async recovered(nodeId: number, instance: string): Promise<void> {
    await this.redis.eval(
      END_RECOVERY,
      3,
      this.keys.recovering(nodeId),
      this.keys.recoverer(nodeId),
      this.keys.adopted(nodeId),
      instance,
    );
  }

  /** Announces that `nodeId` left (its sessions adopted here): the others drop its routes. */
  async announceLeft(nodeId: number): Promise<void> {
    const message = JSON.stringify({ node: nodeId, left: true });
    await this.redis.eval(
      ANNOUNCE_LEFT,
      3,
      this.keys.lease(nodeId),
      this.keys.routeChanges,
      this.keys.routes(nodeId),
      message,
    );
  }

  /**
   * Members dead before we knew them (we just joined while a survivor recovers them): their
   * routes are read as a live peer's, so that what we accept for their sessions goes to their
   * inbox (or is refused once they are removed), not nowhere.
   */
  private routeUnremoved(others: number[], now: ReadonlySet<number>): void {
    for (const member of others) {
      if (now.has(member) || this.alive.has(member) || this.departing.has(member)) continue;
      this.departing.set(member, undefined);
      this.events.joined(member);
    }
  }

  /**
   * The fallback for departing peers: their routes go `leaseMs` after they left `nodes`,
   * unless their recovery is still under way (`recovering:<id>`: its survivor may have died
   * too, and the next one routes their sessions later; until then a publish for them is
   * refused, never routed nowhere). One MGET, only when a peer is due.
   */
  private async dropDeparted(members: number[]): Promise<void> {
    const now = Date.now();
    const due: number[] = [];
    for (const [peer, since] of this.departing) {
      if (members.includes(peer)) continue; // not removed yet: its inbox is still read later
      if (since === undefined) this.departing.set(peer, now);
      else if (now - since >= this.options.leaseMs) due.push(peer);
    }
    if (due.length === 0) return;
    const recovering = await this.redis.mget(due.map((peer) => this.keys.recovering(peer)));
    due.forEach((peer, i) => {
      if (recovering[i] !== null || !this.departing.has(peer)) return;
      this.departing.delete(peer);
      this.events.left(peer);
    });
  }

  /**
   * What a node that left keeps in Redis: removed by itself or the first survivor, who gets
   * the wills its clients left (and those of other dead nodes' clients it held: moved to our
   * `orphan-wills:<id>`) and, when `keepInbox`, its inbox renamed (undefined: its lease is
   * back, or another survivor was first).
   */
  private async removeTraces(
    nodeId: number,
    keepInbox: boolean,
  ): Promise<
    | { wills: OrphanWill[]; orphan: OrphanInbox | undefined; instance: string | undefined }
    | undefined
  > {
    const result = await this.redis.callBuffer(
      'EVAL',
      REMOVE_TRACES,
      12,
      this.keys.lease(nodeId),
      this.keys.members,
      this.keys.routes(nodeId),
      this.keys.inbox(nodeId),
      this.keys.routeChanges,
      this.keys.wills(nodeId),
      this.keys.instances,
      this.keys.recovering(nodeId),
      this.keys.recoverer(nodeId),
      this.keys.adopted(nodeId),
      this.keys.orphanWills(nodeId),
      this.keys.orphanWills(this.id),
      String(nodeId),
      JSON.stringify({ node: nodeId, left: true }),
      keepInbox ? '1' : '0',
      this.keys.orphan(nodeId, ''),
      String(this.orphanTtlMs),
      `${this.id}/${this.instance}`,
      String(Date.now()),
    );
    if (!Array.isArray(result)) return undefined;
    const [instance, orphan, pairs] = result as [Buffer, Buffer, Buffer[]];
    const key = orphan.toString();
    return {
      wills: orphanWills(pairs),
      instance: instance.length > 0 ? instance.toString() : undefined,
      orphan: key === '' ? undefined : { key, instance: instance.toString() },
    };
  }

  /** How long a dead node's renamed inbox and recovery keys are kept (ms). */
  get orphanTtlMs(): number {
    return Math.max(ORPHAN_MIN_TTL_MS, 10 * this.options.leaseMs);
  }
}
