/**
 * The login guard's memory, on its own with a clock the test moves: the failure back-off per
 * key, and the cache of recent successful logins.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureBackoff } from '../../src/hooks/failure-backoff.js';
import { SuccessCache } from '../../src/hooks/success-cache.js';
import { manualClock } from './login-guard-helpers.js';

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
