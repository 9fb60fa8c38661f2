/**
 * The login guard, which combines the failure back-off, the success cache and the hash queue
 * (each tested on its own in failure-backoff-cache.test.ts and hash-queue.test.ts), with a
 * clock the test moves. The checks are functions the test settles; the real PBKDF2 path is
 * covered by test/integration/login-protection.test.ts and test/hostile/load/login.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginGuard, type LoginGuardOptions } from '../../src/hooks/login-guard.js';
import { deferred, manualClock } from './login-guard-helpers.js';

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
