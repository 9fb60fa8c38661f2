/**
 * Keeps logins answered while someone floods the broker with bad ones. A password check
 * costs ~100 ms of CPU (PBKDF2-SHA512, 210 000 iterations), so an attacker who can open
 * connections can buy all of the broker's hashing time. The guard, in front of every check:
 *
 * 1. Per source address (IPv6: per /64): after `freeFailures` failures the address backs off
 *    (`failureDelayMs`, doubling per further failure, up to `maxFailureDelayMs`); while it
 *    does, its logins are refused at once (v5 CONNACK 0x9F, v3 0x03) without a hash, even
 *    with the right password: checking a cached password there would let it guess at full
 *    speed. Loopback sources are exempt unless `addressLimitsOnLoopback`.
 * 2. A cache of recent successes (see success-cache.ts): a login seen accepted before is
 *    answered without a hash, ahead of any queue, whatever its username's failures.
 * 3. The rest wait in a bounded {@link HashQueue} (at most `maxConcurrentHashes` run):
 *    sources that logged in before go first, new sources next, sources with failures last,
 *    and within a lane a source with fewer logins pending goes first. When its turn comes a
 *    login is looked at again (its source may have begun to back off meanwhile: refused
 *    unhashed). Logins whose connection closed are dropped; a full queue refuses (v5 0x89,
 *    v3 0x03) unless the newcomer ranks above the worst waiting login, which is refused.
 * 4. Per username: after `freeFailures` failures, checks of that username run one at a time,
 *    at most one per `min(back-off, 1 s)`, and at most four wait. This is a soft limit on
 *    purpose: a username is not a secret, so refusing a username outright would let anyone
 *    lock its owner out for the price of a few bad logins. Here the owner still gets in:
 *    at once when her login is cached; otherwise her check waits at most about a second and
 *    goes before the attacker's, whose sources have failures (lane 2) while hers has none.
 *    What stays open: an attacker with an endless supply of fresh addresses looks like her.
 */
import { availableParallelism } from 'node:os';
import { addressKey, isLoopbackAddress } from '../core/address-key.js';
import type { BrokerCore } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { silentLogger } from '../ports/index.js';
import { FailureBackoff } from './failure-backoff.js';
import { HashQueue, type Lane } from './hash-queue.js';
import { SuccessCache } from './success-cache.js';

/** Where refusals are counted and logged (the core's RefusalLog). */
export type RefusalSink = Pick<BrokerCore['refusals'], 'note'>;

/** Settings of a {@link LoginGuard}; every one has a default. */
export interface LoginGuardOptions {
  /** Password hashes running at once. Default {@link defaultHashConcurrency}. */
  maxConcurrentHashes?: number;
  /** Logins waiting for a hash at most; more are refused. Default 128. */
  maxQueuedLogins?: number;
  /** Failures per address or username before back-off starts. Default 5. */
  freeFailures?: number;
  /** First back-off; doubles with each further failure. Default 1000 ms. */
  failureDelayMs?: number;
  /** Longest back-off of an address; failures are forgotten after 10 times it. Default 60000 ms. */
  maxFailureDelayMs?: number;
  /** Successful logins remembered; 0 turns the cache off. Default 10000. */
  cacheSize?: number;
  /** How long a remembered login is valid. Default 3600000 ms (one hour). */
  cacheTtlMs?: number;
  /** Back off loopback sources too. Default false. */
  addressLimitsOnLoopback?: boolean;
  /** Counts and logs refusals; see {@link LoginGuard.reportTo}. */
  refusals?: RefusalSink;
  logger?: Logger;
  /** Milliseconds since some fixed point. Default Date.now. */
  now?: () => number;
}

/** What the guard answers for one login. */
export type LoginVerdict =
  | { result: 'allow' }
  | { result: 'deny' }
  /** Refused unchecked: the source address backs off for `retryAfterMs`. */
  | { result: 'throttled'; retryAfterMs: number }
  /** Refused unchecked: no room in the hash queue. */
  | { result: 'busy' }
  /** Not checked: the connection closed while the login waited. */
  | { result: 'abandoned' };

/** One login to check. */
export interface LoginAttempt {
  readonly remoteAddress: string | undefined;
  readonly username: string;
  readonly password: string;
  /** The password file snapshot checked against: a cached success is valid for it only. */
  readonly scope: object;
  /** True once the connection is gone. */
  isClosed(): boolean;
  /** The expensive check: resolves true when the password is right. */
  verify(): Promise<boolean>;
}

/** Counters of a guard (plain numbers, for tests and diagnostics). */
export interface LoginGuardStats {
  hashed: number;
  cacheHits: number;
  throttled: number;
  busy: number;
  abandoned: number;
}

/** Longest spacing between two checks of a username under attack (see the file comment). */
const MAX_USERNAME_WAIT_MS = 1000;
/** Checks of one username under attack that may wait at once. */
const MAX_QUEUED_PER_USERNAME = 4;
/** Addresses and usernames remembered at most, each. */
const MAX_TRACKED_KEYS = 100_000;

/**
 * Hashes run at once by default: one per CPU core but one, so that the event loop keeps a
 * core to answer everyone else while a flood keeps the hashes busy, and at most the libuv
 * pool size (UV_THREADPOOL_SIZE, 4 by default) less one, left for file I/O, DNS and
 * logging. At least one.
 */
export function defaultHashConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism() - 1, pool - 1));
}

/** Throttling, caching and queueing of password checks (see the file comment). */
export class LoginGuard {
  /** Counters since the guard was made. */
  readonly stats: LoginGuardStats = {
    hashed: 0,
    cacheHits: 0,
    throttled: 0,
    busy: 0,
    abandoned: 0,
  };
  private readonly addresses: FailureBackoff;
  private readonly usernames: FailureBackoff;
  private readonly cache: SuccessCache;
  private readonly queue: HashQueue;
  private readonly scopes = new WeakMap<object, number>();
  private nextScope = 1;
  private refusals: RefusalSink | undefined;
  private readonly onLoopback: boolean;
  private readonly logger: Logger;

  constructor(options: LoginGuardOptions = {}) {
    const now = options.now ?? Date.now;
    const backoff = {
      freeFailures: options.freeFailures ?? 5,
      baseDelayMs: options.failureDelayMs ?? 1000,
      maxDelayMs: options.maxFailureDelayMs ?? 60_000,
      maxKeys: MAX_TRACKED_KEYS,
      now,
    };
    this.addresses = new FailureBackoff(backoff);
    this.usernames = new FailureBackoff(backoff);
    this.cache = new SuccessCache({
      maxEntries: options.cacheSize ?? 10_000,
      ttlMs: options.cacheTtlMs ?? 3_600_000,
      now,
    });
    this.queue = new HashQueue({
      concurrency: options.maxConcurrentHashes ?? defaultHashConcurrency(),
      maxQueued: options.maxQueuedLogins ?? 128,
      maxQueuedPerGate: MAX_QUEUED_PER_USERNAME,
      gated: (username) => this.usernames.isBackingOff(username),
      gateWaitMs: (username) => this.usernames.waitMs(username, MAX_USERNAME_WAIT_MS),
    });
    this.refusals = options.refusals;
    this.onLoopback = options.addressLimitsOnLoopback ?? false;
    this.logger = options.logger ?? silentLogger;
  }

  /** Sends refusals to `sink` from now on (the broker's, once it exists). */
  reportTo(sink: RefusalSink): void {
    this.refusals = sink;
  }

  /** Forgets every cached success (call it when the password file is reloaded). */
  clearCache(): void {
    this.cache.clear();
  }

  /** Logins waiting for a hash, and hashes running. */
  get pending(): { queued: number; running: number } {
    return { queued: this.queue.queued, running: this.queue.running };
  }

  /** Checks one login, throttled, cached and queued as the file comment says. */
  async check(attempt: LoginAttempt): Promise<LoginVerdict> {
    const address = this.addressKeyOf(attempt.remoteAddress);
    const scope = this.scopeOf(attempt.scope);
    const early = this.answerUnhashed(attempt, address, scope);
    if (early !== undefined) return early;
    let verdict: LoginVerdict = { result: 'deny' };
    const outcome = await this.queue.submit({
      source: address ?? attempt.remoteAddress,
      lane: () => this.laneOf(address),
      gate: attempt.username,
      isClosed: () => attempt.isClosed(),
      run: async () => {
        verdict = await this.verify(attempt, address, scope);
      },
    });
    if (outcome === 'busy') return this.busy(attempt);
    if (outcome === 'abandoned') {
      this.stats.abandoned++;
      this.logger.debug(
        { remoteAddress: attempt.remoteAddress, username: attempt.username },
        'login dropped unchecked: the connection closed while it waited',
      );
      return { result: 'abandoned' };
    }
    return verdict;
  }

  /**
   * The answer that needs no hash, if any: refused while the source backs off (checked
   * first, so a throttled source cannot test passwords against the cache), or accepted from
   * the cache.
   */
  private answerUnhashed(
    attempt: LoginAttempt,
    address: string | undefined,
    scope: number,
  ): LoginVerdict | undefined {
    if (address !== undefined) {
      const retryAfterMs = this.addresses.waitMs(address);
      if (retryAfterMs > 0) return this.throttled(attempt, retryAfterMs);
    }
    if (!this.cache.has(scope, attempt.username, attempt.password)) return undefined;
    this.stats.cacheHits++;
    this.succeeded(address);
    return { result: 'allow' };
  }

  /**
   * The check, when the login's turn comes: things may have changed while it waited (its
   * source began to back off, or a twin login got cached), so those come first. The result
   * is recorded before the queue starts the next login of the same username.
   */
  private async verify(
    attempt: LoginAttempt,
    address: string | undefined,
    scope: number,
  ): Promise<LoginVerdict> {
    const early = this.answerUnhashed(attempt, address, scope);
    if (early !== undefined) return early;
    this.stats.hashed++;
    const ok = await attempt.verify();
    if (ok) {
      this.cache.add(scope, attempt.username, attempt.password);
      this.succeeded(address);
      return { result: 'allow' };
    }
    if (address !== undefined) this.addresses.recordFailure(address);
    this.usernames.recordFailure(attempt.username);
    return { result: 'deny' };
  }

  /**
   * Notes a success from `address`. A username's failures stay: clearing them at each of
   * its owner's logins would give an attacker a fresh set of free guesses every time.
   */
  private succeeded(address: string | undefined): void {
    if (address !== undefined) this.addresses.recordSuccess(address);
  }

  private throttled(attempt: LoginAttempt, retryAfterMs: number): LoginVerdict {
    this.stats.throttled++;
    this.refusals?.note(
      'login-throttled',
      { remoteAddress: attempt.remoteAddress, username: attempt.username, retryAfterMs },
      'login refused unchecked: too many failed logins from this address',
    );
    return { result: 'throttled', retryAfterMs };
  }

  private busy(attempt: LoginAttempt): LoginVerdict {
    this.stats.busy++;
    this.refusals?.note(
      'login-busy',
      {
        remoteAddress: attempt.remoteAddress,
        username: attempt.username,
        queued: this.queue.queued,
      },
      'login refused unchecked: too many logins wait for a password check',
    );
    return { result: 'busy' };
  }

  private laneOf(address: string | undefined): Lane {
    if (address === undefined) return 1;
    if (this.addresses.failures(address) > 0) return 2;
    return this.addresses.isKnownGood(address) ? 0 : 1;
  }

  /** The key an address is throttled under, or undefined when it is exempt or unknown. */
  private addressKeyOf(remoteAddress: string | undefined): string | undefined {
    if (remoteAddress === undefined) return undefined;
    if (!this.onLoopback && isLoopbackAddress(remoteAddress)) return undefined;
    return addressKey(remoteAddress);
  }

  private scopeOf(file: object): number {
    let scope = this.scopes.get(file);
    if (scope === undefined) {
      scope = this.nextScope++;
      this.scopes.set(file, scope);
    }
    return scope;
  }
}
