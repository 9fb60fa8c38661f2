/**
 * ExpiryIndex: deadlines of many keys behind one timer, on a fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpiryIndex, MIN_SWEEP_INTERVAL_MS } from '../../src/core/expiry-index.js';
import type { Clock, TimerHandle } from '../../src/ports/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A fake clock that counts the timers armed and not yet fired or cleared. */
class CountingClock extends FakeClock {
  armed = new Set<TimerHandle>();
  override setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = super.setTimeout(() => {
      this.armed.delete(handle);
      fn();
    }, ms);
    this.armed.add(handle);
    return handle;
  }
  override clearTimeout(handle: TimerHandle): void {
    this.armed.delete(handle);
    super.clearTimeout(handle);
  }
}

function index(
  clock: Clock,
  minIntervalMs?: number,
): {
  expiry: ExpiryIndex<string>;
  due: string[];
} {
  const due: string[] = [];
  const expiry = new ExpiryIndex<string>(clock, (key) => due.push(key), minIntervalMs);
  return { expiry, due };
}

describe('ExpiryIndex', () => {
  it('calls back each key once its deadline passed, in deadline order, with one timer armed at a time', () => {
    const clock = new CountingClock(0);
    const { expiry, due } = index(clock, 0);
    for (const [key, at] of [
      ['c', 300],
      ['a', 100],
      ['d', 400],
      ['b', 200],
    ] as const) {
      expiry.set(key, at);
    }
    assert.equal(clock.armed.size, 1, 'one timer for four deadlines');
    clock.advance(250);
    assert.deepEqual(due, ['a', 'b']);
    clock.advance(1000);
    assert.deepEqual(due, ['a', 'b', 'c', 'd']);
    assert.equal(expiry.size, 0);
    assert.equal(clock.armed.size, 0, 'no timer once nothing is left');
  });

  it('moving a deadline and deleting a key leave nothing stale behind', () => {
    const clock = new CountingClock(0);
    const { expiry, due } = index(clock, 0);
    expiry.set('moved-later', 100);
    expiry.set('moved-earlier', 500);
    expiry.set('deleted', 50);
    expiry.set('moved-later', 600);
    expiry.set('moved-earlier', 10);
    expiry.delete('deleted');
    expiry.delete('never-set');
    assert.equal(expiry.size, 2);
    clock.advance(1000);
    assert.deepEqual(due, ['moved-earlier', 'moved-later']);
  });

  it(`coalesces deadlines a few ms apart into sweeps at least ${MIN_SWEEP_INTERVAL_MS} ms apart`, () => {
    const clock = new CountingClock(0);
    const sweptAt = new Set<number>();
    const expiry = new ExpiryIndex<number>(clock, (_key, now) => sweptAt.add(now));
    for (let i = 0; i < 50; i++) expiry.set(i, 10 + i * 4); // 50 deadlines over 200 ms
    clock.advance(1000);
    assert.equal(expiry.size, 0);
    const times = [...sweptAt];
    assert.ok(times.length <= 3, `${times.length} sweeps for 50 deadlines over 200 ms`);
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i]! - times[i - 1]! >= MIN_SWEEP_INTERVAL_MS);
    }
  });

  it('sweep() takes what is due now without the timer', () => {
    const clock = new CountingClock(0);
    const { expiry, due } = index(clock);
    expiry.set('a', 10);
    expiry.set('b', 20);
    assert.equal(expiry.sweep(15), 1);
    assert.deepEqual(due, ['a']);
  });
});
