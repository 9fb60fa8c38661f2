/**
 * The owner keys of the client ids a node holds, checked again once its Redis connection is
 * back (issue #11). A Redis failover may lose the last writes the old master had not passed
 * on to its replica, and a restart without persistence loses everything: an owner key of a
 * session this node holds in memory may be gone from the new master. The node goes on routing
 * that session (offline: what reaches it is queued for it in the store), while another node's
 * claim finds the key free, takes it without asking anyone and reads the session from the
 * store: the session then lives on two nodes, and what this one queued for it comes to its
 * client again from the store later, under the same ids (the failover soak, seed 14: 36 QoS 2
 * duplicates). The key is the authority: after a reconnection this node writes back the keys
 * that are gone (in one step per key, only while still free: a claim elsewhere that came
 * first wins) and lets go of the sessions whose key names another node now. Then it marks the
 * check done for that master (master-identity.ts), which the claims of free keys on the other
 * nodes wait for (free-claim-gate.ts): the check closes the gap from the holder's side, the
 * mark from the claiming side.
 */
import type { BrokerCore } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { FreeClaimCounters } from './free-claim-gate.js';
import type { ClusterKeys } from './keys.js';
import { markChecked, readMasterIdentity } from './master-identity.js';
import type { ReplicaWait } from './replica-wait.js';

/** Owner keys checked per pipeline. */
const PAGE = 1000;

// Sets the owner key (KEYS[1]) to ARGV[1] while it is free (1); 0 while it names ARGV[1]
// already; else the value it has (another node's).
const REASSERT = `
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
if v == ARGV[1] then return 0 end
return v`;

/** What {@link reassertOwners} found. */
export interface OwnerKeysChecked {
  /** Client ids whose owner key was gone, written back (this node's again). */
  readonly reasserted: string[];
  /** Client ids whose owner key names another node now, with its value. */
  readonly elsewhere: Map<string, string>;
}

/**
 * Writes `ownerValue` back as the owner key of each of `clientIds` whose key is gone, and
 * reports those whose key names another owner (one round trip per {@link PAGE} keys). Only
 * the client ids still `held` when their page is sent: one let go of meanwhile (its key
 * released) is not written back.
 */
export async function reassertOwners(
  redis: RedisClient,
  keys: ClusterKeys,
  clientIds: readonly string[],
  ownerValue: string,
  held: (clientId: string) => boolean = () => true,
): Promise<OwnerKeysChecked> {
  const reasserted: string[] = [];
  const elsewhere = new Map<string, string>();
  for (let start = 0; start < clientIds.length; start += PAGE) {
    const page = clientIds.slice(start, start + PAGE).filter(held);
    const pipeline = redis.pipeline();
    for (const clientId of page) pipeline.eval(REASSERT, 1, keys.owner(clientId), ownerValue);
    const results = (await pipeline.exec()) ?? [];
    page.forEach((clientId, i) => {
      const [err, result] = results[i] ?? [null, 0];
      if (err) throw err;
      if (result === 1) reasserted.push(clientId);
      else if (typeof result === 'string') elsewhere.set(clientId, result);
    });
  }
  return { reasserted, elsewhere };
}

/** What the check needs of the node's ownership of client ids (takeover.ts). */
export interface OwnerCheckParts {
  readonly core: BrokerCore;
  readonly redis: RedisClient;
  readonly keys: ClusterKeys;
  readonly logger: Logger;
  /** This node's owner value (`<node id>/<instance>`), read when asked. */
  readonly ownerValue: () => string;
  /** This node's mark of a check done (`owners-checked:<id>`), read when asked. */
  readonly mark: () => string;
  /** Client ids whose owner key this node took and has not let go of. */
  readonly owned: Set<string>;
  /** Runs `step` in `clientId`'s turn (after the move steps asked before, and this node's claim). */
  readonly inTurn: (clientId: string, step: () => Promise<void>) => Promise<void>;
  /** `cluster.wait`: the keys written back ride its next `WAIT`. */
  readonly replicas: ReplicaWait | undefined;
}

/** What {@link OwnerKeysCheck} (and the claims' gate) did, for `status().ownerKeys`. */
export interface OwnerKeyCounters extends FreeClaimCounters {
  /** Checks run (at join, after a reconnection or a lost lease). */
  checks: number;
  /** Checks marked done for the master they ran against (not: a failover came during one). */
  marked: number;
  /** Owner keys found gone and written back. */
  reasserted: number;
  /** Sessions let go of here because their owner key named another node. */
  yielded: number;
}

/** The check of this node's owner keys after Redis came back. */
export class OwnerKeysCheck {
  readonly counters: OwnerKeyCounters = {
    checks: 0,
    marked: 0,
    reasserted: 0,
    yielded: 0,
    claimsWaited: 0,
    peersExcused: 0,
  };
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly parts: OwnerCheckParts) {}

  /**
   * Checks every owner key this node holds (one check at a time: one asked for while one runs
   * runs once after it). Never rejects: a check that fails (Redis away again) is logged, and
   * the next reconnection checks again.
   */
  run(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = this.check().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.run();
      }
    });
    return this.running;
  }

  private async check(): Promise<void> {
    const { redis, keys, logger, owned, replicas } = this.parts;
    this.counters.checks++;
    let found: OwnerKeysChecked;
    try {
      // Read before any key is written back: the mark then names the master that has them
      // all (a failover during the check leaves it unmarked, for the next check to mark).
      const master = await readMasterIdentity(redis, this.parts.mark());
      const value = this.parts.ownerValue();
      found = await reassertOwners(redis, keys, [...owned], value, (id) => owned.has(id));
      // Marked before the sessions found elsewhere are let go of: a claim elsewhere needs the
      // keys written back, which are; those let go of are already another node's.
      if (await markChecked(redis, this.parts.mark(), master)) this.counters.marked++;
    } catch (err) {
      logger.warn(
        { err: String(err) },
        'cluster: checking the owner keys after a reconnection failed',
      );
      return;
    }
    if (found.reasserted.length > 0) {
      this.counters.reasserted += found.reasserted.length;
      logger.warn(
        { sessions: found.reasserted.length, clientIds: found.reasserted.slice(0, 10) },
        'cluster: owner keys of sessions held here were gone from Redis (lost in a failover?): written back',
      );
      replicas?.follow('the owner keys written back after a reconnection', {
        sessions: found.reasserted.length,
      });
    }
    const yielded = [...found.elsewhere.keys()].map((clientId) =>
      this.parts.inTurn(clientId, () => this.yieldSession(clientId)),
    );
    await Promise.all(yielded);
  }

  /**
   * `clientId`'s owner key named another node: unless this node took it again meanwhile (its
   * own claim, a move back) or let go of it, the session leaves this node, without a write (it
   * is the other node's to write) [MQTT-3.1.4-3]: a connection here is closed (v5 DISCONNECT
   * 0x8E), the session evicted from memory and the router.
   */
  private async yieldSession(clientId: string): Promise<void> {
    const { core, redis, keys, logger, owned } = this.parts;
    if (!owned.has(clientId)) return;
    const owner = await redis.get(keys.owner(clientId));
    if (owner === this.parts.ownerValue()) return;
    owned.delete(clientId);
    logger.warn(
      { clientId, owner },
      'cluster: the owner key of a session held here names another node (Redis lost it, and that node claimed it): the session is let go of here',
    );
    core.sessions.get(clientId)?.output?.takeOver();
    if (core.registry.evict(clientId)) this.counters.yielded++;
  }
}
