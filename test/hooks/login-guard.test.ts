/**
 * The login guard's parts on their own, with a clock the test moves: failure back-off per
 * key, the success cache, the hash queue (order, bound, dropped work, username gates) and the
 * guard that combines them. The checks are functions the test settles, so the order in which
 * the queue runs them is seen exactly; the real PBKDF2 path is covered by
 * test/integration/login-protection.test.ts and test/hostile/load/login.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureBackoff } from '../../src/hooks/failure-backoff.js';
import {
  type HashJob,
  type HashOutcome,
  HashQueue,
  type Lane,
} from '../../src/hooks/hash-queue.js';
import { LoginGuard, type LoginGuardOptions } from '../../src/hooks/login-guard.js';
import { SuccessCache } from '../../src/hooks/success-cache.js';

/** A clock the test moves by hand. */
function manualClock() {
  const clock = { t: 1_000_000, now: () => clock.t };
  return clock;
}

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('FailureBackoff', () => {
  const options = (now: () => number) => ({
    freeFailures: 3,
    baseDelayMs: 1000,
    maxDelayMs: 8000,
    maxKeys: 100,
    now,
  });

  it('free failures cost nothing; then the wait doubles per failure up to the cap', () => {
    const clock = manualClock();
    const b = new FailureBackoff(options(clock.now));
    assert.equal(b.recordFailure('a'), 0);
    assert.equal(b.recordFailure('a'), 0);
    assert.equal(b.waitMs('a'), 0);
    assert.equal(b.isBackingOff('a'), false);
    assert.equal(b.recordFailure('a'), 1000);
    assert.equal(b.isBackingOff('a'), true);
    assert.equal(b.waitMs('a'), 1000);
    clock.t += 400;
    assert.equal(b.waitMs('a'), 600);
    assert.equal(b.waitMs('a', 500), 100, 'a cap shortens the wait');
    assert.equal(b.recordFailure('a'), 2000);
    assert.equal(b.recordFailure('a'), 4000);
    assert.equal(b.recordFailure('a'), 8000);
    assert.equal(b.recordFailure('a'), 8000, 'capped at maxDelayMs');
    assert.equal(b.waitMs('b'), 0, 'keys are independent');
  });

  it('forgets a key ten times maxDelay after its last failure', () => {
    const clock = manualClock();
    const b = new FailureBackoff(options(clock.now));
    for (let i = 0; i < 5; i++) b.recordFailure('a');
    clock.t += 80_000;
    assert.equal(b.failures('a'), 5);
    clock.t += 1;
    assert.equal(b.failures('a'), 0);
    assert.equal(b.size, 0);
  });

  it('keeps at most maxKeys keys, the least recently touched going first', () => {
    const clock = manualClock();
    const b = new FailureBackoff({ ...options(clock.now), maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) b.recordFailure(key);
    b.recordFailure('a'); // a is now the most recent
    b.recordFailure('d');
    assert.equal(b.size, 3);
    assert.equal(b.failures('b'), 0, 'b was the oldest');
    assert.equal(b.failures('a'), 2);
  });

  it('a success makes a key known good until it fails; failures are not wiped by a success', () => {
    const clock = manualClock();
    const b = new FailureBackoff(options(clock.now));
    b.recordSuccess('a');
    assert.equal(b.isKnownGood('a'), true);
    b.recordFailure('a');
    b.recordSuccess('a');
    assert.equal(b.isKnownGood('a'), false);
    assert.equal(b.failures('a'), 1);
  });
});

describe('SuccessCache', () => {
  it('hits only for the same scope, username and password, within the TTL', () => {
    const clock = manualClock();
    const cache = new SuccessCache({ maxEntries: 10, ttlMs: 1000, now: clock.now });
    cache.add(1, 'alice', 'secret');
    assert.equal(cache.has(1, 'alice', 'secret'), true);
    assert.equal(cache.has(1, 'alice', 'Secret'), false);
    assert.equal(cache.has(2, 'alice', 'secret'), false, 'another password file snapshot');
    assert.equal(cache.has(1, 'bob', 'secret'), false);
    assert.equal(cache.has(1, 'alic', 'esecret'), false, 'username and password stay apart');
    clock.t += 1000;
    assert.equal(cache.has(1, 'alice', 'secret'), false, 'expired');
  });

  it('holds HMACs, never the password, at most maxEntries, until cleared', () => {
    const clock = manualClock();
    const cache = new SuccessCache({ maxEntries: 2, ttlMs: 60_000, now: clock.now });
    cache.add(1, 'alice', 'pw-alice-plain');
    // White-box on purpose: what the cache keeps must not contain the password.
    const kept = JSON.stringify([
      ...(cache as unknown as { entries: Map<string, number> }).entries,
    ]);
    assert.equal(kept.includes('pw-alice-plain'), false);
    assert.equal(kept.includes('alice'), false);
    cache.add(1, 'bob', 'b');
    assert.equal(cache.has(1, 'alice', 'pw-alice-plain'), true); // alice most recent now
    cache.add(1, 'carol', 'c');
    assert.equal(cache.size, 2);
    assert.equal(cache.has(1, 'bob', 'b'), false, 'bob was the least recently used');
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.has(1, 'alice', 'pw-alice-plain'), false);
  });

  it('maxEntries 0 turns it off', () => {
    const cache = new SuccessCache({ maxEntries: 0, ttlMs: 60_000, now: Date.now });
    cache.add(1, 'alice', 'x');
    assert.equal(cache.has(1, 'alice', 'x'), false);
  });
});

/** A job the test drives: records when it starts, finishes when `finish` is called. */
function job(
  log: string[],
  name: string,
  fields: { source?: string; lane?: Lane; gate?: string; closed?: () => boolean } = {},
) {
  const done = deferred<void>();
  const spec: HashJob = {
    source: fields.source ?? name,
    lane: () => fields.lane ?? 1,
    gate: fields.gate ?? name,
    isClosed: fields.closed ?? (() => false),
    run: () => {
      log.push(name);
      return done.promise;
    },
  };
  return { spec, finish: () => done.resolve() };
}

function queue(overrides: Partial<ConstructorParameters<typeof HashQueue>[0]> = {}) {
  return new HashQueue({
    concurrency: 1,
    maxQueued: 10,
    maxQueuedPerGate: 2,
    gated: () => false,
    gateWaitMs: () => 0,
    ...overrides,
  });
}

describe('HashQueue', () => {
  it('runs at most `concurrency` checks at once, the rest wait', async () => {
    const log: string[] = [];
    const q = queue({ concurrency: 2 });
    const jobs = ['a', 'b', 'c'].map((n) => job(log, n));
    const outcomes = jobs.map((j) => q.submit(j.spec));
    assert.deepEqual(log, ['a', 'b']);
    assert.equal(q.queued, 1);
    jobs[0]!.finish();
    await tick();
    assert.deepEqual(log, ['a', 'b', 'c']);
    jobs[1]!.finish();
    jobs[2]!.finish();
    assert.deepEqual(await Promise.all(outcomes), ['done', 'done', 'done']);
  });

  it('picks the best lane, then the source with fewer pending checks, then the newest', async () => {
    const log: string[] = [];
    const q = queue();
    const first = job(log, 'first');
    void q.submit(first.spec);
    const waiting = [
      job(log, 'suspect', { lane: 2 }),
      job(log, 'flood-1', { source: 'flood' }),
      job(log, 'flood-2', { source: 'flood' }),
      job(log, 'single', { source: 'other' }),
      job(log, 'known', { lane: 0 }),
    ];
    for (const j of waiting) void q.submit(j.spec);
    for (const j of [first, ...waiting]) {
      j.finish();
      await tick();
    }
    // flood-2 before flood-1: newest first; then flood-1 has the fewer pending (flood-2 ran).
    assert.deepEqual(log, ['first', 'known', 'single', 'flood-2', 'flood-1', 'suspect']);
  });

  it('asks a waiting check its lane anew: a source that failed meanwhile drops back', async () => {
    const log: string[] = [];
    const q = queue();
    const first = job(log, 'first');
    void q.submit(first.spec);
    let lane: Lane = 1;
    const changing: HashJob = { ...job(log, 'changing').spec, lane: () => lane };
    const later = job(log, 'later');
    void q.submit(changing);
    void q.submit(later.spec);
    lane = 2;
    first.finish();
    await tick();
    assert.deepEqual(log, ['first', 'later']);
  });

  it('drops a check whose connection closed before its turn, without running it', async () => {
    const log: string[] = [];
    const q = queue();
    const first = job(log, 'first');
    void q.submit(first.spec);
    let closed = false;
    const gone = q.submit(job(log, 'gone', { closed: () => closed }).spec);
    closed = true;
    first.finish();
    assert.equal(await gone, 'abandoned');
    assert.deepEqual(log, ['first']);
    assert.equal(q.queued, 0);
  });

  it('full: a newcomer at least as good takes the place of the worst (oldest) waiting check, a worse one is busy', async () => {
    const log: string[] = [];
    const q = queue({ maxQueued: 2 });
    void q.submit(job(log, 'running').spec);
    const worst = q.submit(job(log, 'worst', { lane: 2 }).spec);
    const fresh = q.submit(job(log, 'fresh').spec);
    void q.submit(job(log, 'known', { lane: 0 }).spec);
    assert.equal(await worst, 'busy', 'the suspect one made room');
    const another = q.submit(job(log, 'another', { lane: 2 }).spec);
    assert.equal(await another, 'busy', 'nothing ranks below it');
    void q.submit(job(log, 'fresh-2').spec);
    assert.equal(await fresh, 'busy', 'an equal newcomer replaces the oldest of the worst');
    assert.equal(q.queued, 2);
  });

  it('full: checks whose connection closed make room first', async () => {
    const log: string[] = [];
    const q = queue({ maxQueued: 1 });
    void q.submit(job(log, 'running').spec);
    const gone = q.submit(job(log, 'gone', { lane: 0, closed: () => true }).spec);
    const next = q.submit(job(log, 'next', { lane: 2 }).spec);
    assert.equal(await gone, 'abandoned');
    assert.equal(q.queued, 1);
    void next;
  });

  it('a closed gate runs its checks one at a time, each after its wait, at most maxQueuedPerGate waiting', async () => {
    const log: string[] = [];
    const opensAt = Date.now() + 30;
    const q = queue({
      concurrency: 4,
      gated: (g) => g === 'alice',
      gateWaitMs: () => Math.max(0, opensAt - Date.now()),
    });
    const a1 = job(log, 'a1', { gate: 'alice' });
    const a2 = job(log, 'a2', { gate: 'alice' });
    const a3 = job(log, 'a3', { gate: 'alice', lane: 2 });
    const bob = job(log, 'bob', { gate: 'bob' });
    const outcomes: Promise<HashOutcome>[] = [a1, a2].map((j) => q.submit(j.spec));
    const third = q.submit(a3.spec);
    assert.equal(await third, 'busy', 'two alice checks wait already');
    void q.submit(bob.spec);
    assert.deepEqual(log, ['bob'], 'an open gate runs at once; alice waits her turn');
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(log, ['bob', 'a2'], 'the newer of two equals first');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(log, ['bob', 'a2'], 'one alice check at a time');
    a2.finish();
    await tick();
    assert.deepEqual(log, ['bob', 'a2', 'a1']);
    a1.finish();
    bob.finish();
    assert.deepEqual(await Promise.all(outcomes), ['done', 'done']);
  });
});

/** A guard with a manual clock, counting its refusals. */
function guard(options: LoginGuardOptions = {}) {
  const clock = manualClock();
  const refused: string[] = [];
  const g = new LoginGuard({
    freeFailures: 2,
    failureDelayMs: 1000,
    maxFailureDelayMs: 4000,
    maxConcurrentHashes: 1,
    addressLimitsOnLoopback: true,
    now: clock.now,
    refusals: { note: (kind) => refused.push(kind) },
    ...options,
  });
  return { g, clock, refused };
}

const FILE = {};
const PASSWORDS: Record<string, string> = { alice: 'secret', bob: 'bob-pw' };

/** A login against a "file" of PASSWORDS (alice's by default); counts the checks run. */
function attempt(
  counter: { hashes: number },
  fields: { from?: string; user?: string; password?: string; closed?: () => boolean } = {},
) {
  const username = fields.user ?? 'alice';
  const password = fields.password ?? PASSWORDS[username] ?? 'secret';
  return {
    remoteAddress: fields.from ?? '192.0.2.1',
    username,
    password,
    scope: FILE,
    isClosed: fields.closed ?? (() => false),
    verify: async () => {
      counter.hashes++;
      return PASSWORDS[username] === password;
    },
  };
}

describe('LoginGuard', () => {
  it('an address that failed freeFailures times is refused unhashed while it backs off, right password or not', async () => {
    const { g, clock, refused } = guard();
    const c = { hashes: 0 };
    assert.deepEqual(await g.check(attempt(c, { password: 'x' })), { result: 'deny' });
    assert.deepEqual(await g.check(attempt(c, { password: 'y' })), { result: 'deny' });
    const throttled = await g.check(attempt(c));
    assert.deepEqual(throttled, { result: 'throttled', retryAfterMs: 1000 });
    assert.equal(c.hashes, 2);
    assert.deepEqual(refused, ['login-throttled']);
    assert.deepEqual(
      await g.check(attempt(c, { from: '192.0.2.2', user: 'bob' })),
      { result: 'allow' },
      'another address is not concerned',
    );
    clock.t += 1000;
    assert.deepEqual(await g.check(attempt(c, { password: 'z' })), { result: 'deny' });
    assert.deepEqual(await g.check(attempt(c)), { result: 'throttled', retryAfterMs: 2000 });
  });

  it('IPv6 sources back off per /64', async () => {
    const { g } = guard();
    const c = { hashes: 0 };
    await g.check(attempt(c, { from: '2001:db8:1:2::a', password: 'x' }));
    await g.check(attempt(c, { from: '2001:db8:1:2:ffff::b', password: 'x' }));
    const next = await g.check(attempt(c, { from: '2001:db8:1:2:1:2:3:4' }));
    assert.equal(next.result, 'throttled');
    const other = attempt(c, { from: '2001:db8:1:3::1', user: 'bob' });
    assert.equal((await g.check(other)).result, 'allow');
  });

  it('loopback sources are exempt from the address back-off unless addressLimitsOnLoopback', async () => {
    const { g } = guard({ addressLimitsOnLoopback: false });
    const c = { hashes: 0 };
    for (let i = 0; i < 4; i++) {
      await g.check(attempt(c, { from: '127.0.0.1', user: `u${i}`, password: 'x' }));
    }
    assert.deepEqual(await g.check(attempt(c, { from: '127.0.0.1' })), { result: 'allow' });
  });

  it('a cached login of alice passes unhashed while her username is under attack', async () => {
    const { g } = guard({ failureDelayMs: 10, maxFailureDelayMs: 20, now: Date.now });
    const c = { hashes: 0 };
    assert.deepEqual(await g.check(attempt(c, { from: '192.0.2.50' })), { result: 'allow' });
    for (let i = 0; i < 6; i++) {
      await g.check(attempt(c, { from: `198.51.100.${i}`, password: `guess-${i}` }));
    }
    const before = c.hashes;
    assert.deepEqual(await g.check(attempt(c, { from: '203.0.113.9' })), { result: 'allow' });
    assert.equal(c.hashes, before, 'answered from the cache');
    assert.equal(g.stats.cacheHits, 1);
  });

  it('a cached password does not pass from an address that backs off (no fast guessing there)', async () => {
    const { g } = guard();
    const c = { hashes: 0 };
    await g.check(attempt(c, { from: '192.0.2.50' }));
    await g.check(attempt(c, { from: '192.0.2.9', password: 'x' }));
    await g.check(attempt(c, { from: '192.0.2.9', password: 'y' }));
    assert.equal((await g.check(attempt(c, { from: '192.0.2.9' }))).result, 'throttled');
  });

  it('an uncached login of alice under attack is still checked, ahead of the attacker', async () => {
    const { g } = guard({ failureDelayMs: 20, maxFailureDelayMs: 40, now: Date.now });
    const c = { hashes: 0 };
    for (let i = 0; i < 3; i++) {
      await g.check(attempt(c, { from: `198.51.100.${i}`, password: `guess-${i}` }));
    }
    // Her username backs off: her check and the attacker's wait behind the same gate; the
    // attacker's source has failures (lane 2), hers has none (lane 1).
    const order: string[] = [];
    const attacker = g
      .check(attempt(c, { from: '198.51.100.1', password: 'again' }))
      .then((v) => order.push(`attacker ${v.result}`));
    const alice = g
      .check(attempt(c, { from: '192.0.2.50' }))
      .then((v) => order.push(`alice ${v.result}`));
    await Promise.all([attacker, alice]);
    assert.deepEqual(order, ['alice allow', 'attacker deny']);
  });

  it('a login whose connection closed while it waited is dropped without a hash', async () => {
    const { g } = guard();
    const c = { hashes: 0 };
    const slow = deferred<boolean>();
    const first = g.check({ ...attempt(c, { user: 'bob' }), verify: () => slow.promise });
    let closed = false;
    const waiting = g.check(attempt(c, { user: 'carol', closed: () => closed }));
    closed = true;
    slow.resolve(false);
    assert.deepEqual(await waiting, { result: 'abandoned' });
    assert.deepEqual(await first, { result: 'deny' });
    assert.equal(c.hashes, 0);
    assert.equal(g.stats.abandoned, 1);
  });

  it('a full queue refuses with busy, counted: a worse newcomer, or the oldest for an equal one', async () => {
    const { g, refused } = guard({ maxQueuedLogins: 1 });
    const c = { hashes: 0 };
    const slow = deferred<boolean>();
    const running = g.check({ ...attempt(c, { user: 'bob' }), verify: () => slow.promise });
    const oldest = g.check(attempt(c, { user: 'carol', from: '192.0.2.3' }));
    const newest = g.check(attempt(c, { user: 'dave', from: '192.0.2.4' }));
    assert.deepEqual(await oldest, { result: 'busy' });
    // A second login from a source that already has one waiting ranks below it: refused.
    const second = g.check(attempt(c, { user: 'erin', from: '192.0.2.4' }));
    assert.deepEqual(await second, { result: 'busy' });
    assert.deepEqual(refused, ['login-busy', 'login-busy']);
    slow.resolve(false);
    assert.deepEqual(await running, { result: 'deny' });
    assert.deepEqual(await newest, { result: 'deny' });
  });

  it('clearCache forgets every success; so does a new file snapshot', async () => {
    const { g } = guard();
    const c = { hashes: 0 };
    await g.check(attempt(c));
    await g.check(attempt(c));
    assert.equal(c.hashes, 1);
    g.clearCache();
    await g.check(attempt(c));
    assert.equal(c.hashes, 2);
    await g.check({ ...attempt(c), scope: {} });
    assert.equal(c.hashes, 3);
  });
});
