/**
 * A connect's claim of a free owner key, held back until every live node has checked its own
 * owner keys against the current Redis master (issue #11, the claiming side).
 *
 * A failover may lose owner keys written shortly before it (replication is asynchronous). Each
 * node, once back on Redis, writes back the keys of the sessions it holds (owner-keys-check.ts)
 * and then marks that done for that master (`owners-checked:<id>`, master-identity.ts). In the
 * seconds before, a claim on another node found such a key free, took it without asking the
 * holder and read the session from the store, while the holder still had it in memory and
 * queued for it: the holder let go at its check, and what it queued meanwhile could come to
 * the client again, or be lost. So a free key is taken here only while every live peer's mark
 * names the master that runs the take (one script: the key, the marks and the master's
 * identity read in one step, on the master that would keep the write); otherwise the claim
 * waits (at most one lease: a peer that cannot check within its lease is dead or its check
 * failed) for the marks, then tries again: a key a peer wrote back meanwhile makes the take
 * fail, and the claim reads the key again and asks that peer for the session (a move).
 *
 * The normal path costs no round trip: the take replaces the compare-and-set the claim made
 * anyway, and with every mark in place it sets the key at once (the script reads the marks and
 * INFO on the server; a cluster of one node reads neither).
 */
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import { IDENTITY_LUA } from './master-identity.js';
import { claimOwner } from './owners.js';

/** How often a waiting claim reads the peers' marks again (one read shared by all waiting). */
const POLL_MS = 50;

/** Tries of the gated take before a claim takes a free key as before (the master flapping). */
const MAX_TAKES = 4;

/** The take's answer when a live peer has not marked its check for this master. */
const UNCHECKED = -1;

// KEYS[1]: the owner key; KEYS[2..]: the live peers' marks, the first ARGV[3] of them not
// excused. Sets the key to ARGV[1] when it is free and every mark names this master (an
// excused one also when this master is ARGV[2], the one it was excused for): 1. Not free: 0.
// Free, but a peer may not have written back what this master lost: -1.
const TAKE_FREE = `${IDENTITY_LUA}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if #KEYS > 1 then
  local id = identity()
  local strict = 1 + tonumber(ARGV[3])
  for i = 2, #KEYS do
    if redis.call('GET', KEYS[i]) ~= id and not (i > strict and id == ARGV[2]) then return -1 end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

// KEYS: the marks of the live peers. Returns the master's identity, then the (1-based)
// positions of the marks that do not name it.
const UNMARKED = `${IDENTITY_LUA}
local id = identity()
local out = { id }
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) ~= id then out[#out + 1] = i end
end
return out`;

/** Peers whose mark did not come within the bound, and the master it was awaited for. */
interface Excused {
  readonly identity: string;
  readonly peers: ReadonlySet<number>;
}

/** What the gate counts, in `status().ownerKeys`. */
export interface FreeClaimCounters {
  /**
   * Claims of a free owner key (a connect's, or a start's scan before it restores sessions)
   * that waited for peers' checks (after a failover or a restart).
   */
  claimsWaited: number;
  /** Peers that had not marked their check within a lease: claims stopped waiting for them. */
  peersExcused: number;
}

/** What the gate needs of the node. */
export interface FreeClaimGateParts {
  readonly redis: RedisClient;
  readonly keys: ClusterKeys;
  readonly logger: Logger;
  /** The live peers, as of the last heartbeat. */
  readonly peers: () => Iterable<number>;
  /** The longest a claim waits for the marks: the lease. */
  readonly boundMs: number;
  readonly counters: FreeClaimCounters;
}

/** The take of free owner keys by this node's claims. */
export class FreeClaimGate {
  /** Peers no longer waited for on a master (until the master changes: then they are again). */
  private excused: Excused | undefined;
  /** The marks' read under way, shared by every waiting claim. */
  private reading: Promise<Excused> | undefined;

  constructor(private readonly parts: FreeClaimGateParts) {}

  /**
   * Takes the free owner key `key` for `ownerValue` once every live peer checked its owner
   * keys against the current master (or a lease passed). False when the key is not free (a
   * peer wrote it back, or another claim took it): the caller reads it again.
   */
  async take(key: string, ownerValue: string): Promise<boolean> {
    const deadline = Date.now() + this.parts.boundMs;
    for (let attempt = 1; attempt <= MAX_TAKES; attempt++) {
      const taken = await this.tryTake(key, ownerValue);
      if (taken !== UNCHECKED) return taken === 1;
      if (attempt === 1) this.parts.counters.claimsWaited++;
      const late = await this.marked(deadline);
      if (late !== undefined) this.excuse(late);
      // Tried again: a key a peer wrote back meanwhile is not free any more.
    }
    // The master changed at each try (a flapping failover): taken as before this gate.
    return claimOwner(this.parts.redis, key, null, ownerValue);
  }

  private async tryTake(key: string, ownerValue: string): Promise<number> {
    const { redis, keys } = this.parts;
    const excused = this.excused;
    const peers = [...this.parts.peers()];
    const strict = peers.filter((p) => excused?.peers.has(p) !== true);
    const loose = peers.filter((p) => excused?.peers.has(p) === true);
    const marks = [...strict, ...loose].map((p) => keys.ownersChecked(p));
    const args = [ownerValue, excused?.identity ?? '', String(strict.length)];
    return Number(await redis.eval(TAKE_FREE, 1 + marks.length, key, ...marks, ...args));
  }

  /**
   * Waits until every live peer checked its owner keys against the current master (at most
   * the bound; those still unmarked then are excused): a node starting meanwhile scans the
   * owner keys for the sessions no live node holds, and restores those from the store
   * (takeover.ts `heldByPeers`). One read when every mark is in place.
   */
  async awaitChecks(): Promise<void> {
    const deadline = Date.now() + this.parts.boundMs;
    if ((await this.readUnmarked(0)).peers.size === 0) return;
    this.parts.counters.claimsWaited++;
    const late = await this.marked(deadline);
    if (late !== undefined) this.excuse(late);
  }

  /**
   * Waits until every live peer (not excused) marked its check for the current master:
   * undefined then; or the peers still unmarked once `deadline` passed.
   */
  private async marked(deadline: number): Promise<Excused | undefined> {
    for (;;) {
      this.reading ??= this.readUnmarked(POLL_MS).finally(() => {
        this.reading = undefined;
      });
      const unmarked = await this.reading;
      if (unmarked.peers.size === 0) return undefined;
      if (Date.now() >= deadline) return unmarked;
    }
  }

  /** After `delayMs`: the master's identity and the live peers not marked for it. */
  private async readUnmarked(delayMs: number): Promise<Excused> {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const peers = [...this.parts.peers()];
    if (peers.length === 0) return { identity: '', peers: new Set() };
    const marks = peers.map((p) => this.parts.keys.ownersChecked(p));
    const [identity, ...late] = (await this.parts.redis.eval(UNMARKED, marks.length, ...marks)) as [
      string,
      ...number[],
    ];
    const excused = this.excused?.identity === identity ? this.excused.peers : new Set<number>();
    const unmarked = late.map((i) => peers[i - 1]!).filter((p) => !excused.has(p));
    return { identity, peers: new Set(unmarked) };
  }

  /**
   * `late.peers` did not mark within a lease on master `late.identity` (their check failed, or
   * they run a version without marks): claims stop waiting for them on that master, so that
   * not every connect of a new client id waits a lease; a new master is waited for again.
   */
  private excuse(late: Excused): void {
    const before = this.excused?.identity === late.identity ? this.excused.peers : [];
    this.excused = { identity: late.identity, peers: new Set([...before, ...late.peers]) };
    this.parts.counters.peersExcused += late.peers.size;
    this.parts.logger.warn(
      { peers: [...late.peers] },
      'cluster: live peers did not mark their owner-key check for this Redis master within a lease: claims of free client ids no longer wait for them (a session they hold whose key the master lost may be taken here without asking them)',
    );
  }
}
